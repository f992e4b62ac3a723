import type { ApiKey } from "../../kv/api_keys.ts";
import type { Actor } from "../admin/audit.ts";
import { AppError } from "../errors.ts";
import type { Scope } from "./api_keys.ts";
import type { Caller } from "./sessions.ts";

/**
 * Who calls the admin API and what they may do: an admin (their sign-in; every scope) or a
 * server API key (its scopes). Every admin route asks `requireScope` — the one place scopes
 * are checked.
 */
export type Access =
  | { kind: "admin"; caller: Caller }
  | { kind: "key"; key: ApiKey };

/** Whether `access` holds `scope` (an admin holds every scope). */
export function hasScope(access: Access, scope: Scope): boolean {
  return access.kind === "admin" || access.key.scopes.includes(scope);
}

/** 403 `FORBIDDEN` naming the missing scope (`error.scope`) unless `access` holds it. */
export function requireScope(access: Access, scope: Scope): void {
  if (!hasScope(access, scope)) {
    throw new AppError("FORBIDDEN", `This API key lacks the scope ${scope}.`, { scope });
  }
}

/** The audit log's actor: the admin, or the key (`api_key_id`). */
export function actorOf(access: Access, ip: string): Actor {
  return access.kind === "admin"
    ? { userId: access.caller.user.id, ip }
    : { userId: null, ip, apiKeyId: access.key.id };
}

/** Who an admin's or key's per-caller limits (open event streams) are counted for. */
export function accessId(access: Access): string {
  return access.kind === "admin" ? access.caller.user.id : access.key.id;
}
