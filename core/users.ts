import type { PublicUser } from "../contract/api.ts";
import type { User } from "../kv/users.ts";
import { AppError } from "./errors.ts";

/** A user as the API shows it: a wire type, shared with the client SDK. */
export type { PublicUser };

/** A user as the API answers it (README, "API in brief"; `/api/v1/openapi.json`). */
export function publicUser(user: User): PublicUser {
  return {
    id: user.id,
    phone: user.phone,
    email: user.email,
    telegram_id: user.telegramId,
    status: user.status,
    role: user.role,
    created_at: new Date(user.createdAt).toISOString(),
    presence_visibility: user.presenceVisibility ?? "everyone",
  };
}

/** 403 `ACCOUNT_DISABLED` naming the account's status. */
export function accountDisabled(user: User): AppError {
  return new AppError("ACCOUNT_DISABLED", `This account is ${user.status}.`, {
    status: user.status,
  });
}
