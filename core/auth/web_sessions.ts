import { revokeFamily } from "../../kv/sessions.ts";
import { getFamily } from "../../kv/sessions.ts";
import { getUser } from "../../kv/users.ts";
import {
  deleteWebSession,
  getWebSession,
  saveWebSession,
  type WebSession,
} from "../../kv/web_sessions.ts";
import type { AppContext } from "../context.ts";
import { AppError } from "../errors.ts";
import { emitEvent } from "../live/emit.ts";
import { afterSignOut } from "../presence/presence.ts";
import { toBase64Url } from "./codes.ts";
import type { Caller } from "./sessions.ts";
import { accountDisabled } from "./sessions.ts";
import { hashRefreshToken } from "./tokens.ts";

/** How long a dashboard session lasts. */
export const WEB_SESSION_TTL_MS = 12 * 3_600_000;

/** Opens a dashboard session on a sign-in; returns the cookie value (never stored as is). */
export async function openWebSession(
  ctx: AppContext,
  options: { userId: string; familyId: string },
): Promise<string> {
  const token = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const now = ctx.clock.now();
  await saveWebSession(ctx.kv, await hashRefreshToken(token), {
    ...options,
    createdAt: now,
    expiresAt: now + WEB_SESSION_TTL_MS,
  });
  return token;
}

/**
 * The admin behind a session cookie: the session must be live, its sign-in not revoked, and
 * the user active. Revoking the sign-in (logout, suspension) ends the session too.
 */
export async function authenticateWebSession(ctx: AppContext, token: string): Promise<Caller> {
  const now = ctx.clock.now();
  const session = await getWebSession(ctx.kv, await hashRefreshToken(token));
  if (!session || session.expiresAt <= now) {
    throw new AppError("UNAUTHORIZED", "Your dashboard session has ended. Sign in again.");
  }
  const [family, user] = await Promise.all([
    getFamily(ctx.kv, session.familyId),
    getUser(ctx.kv, session.userId),
  ]);
  if (!user) throw new AppError("UNAUTHORIZED", "Your dashboard session has ended.");
  if (user.status !== "active") throw accountDisabled(user);
  if (!family.value || family.value.revokedAt !== null || family.value.expiresAt <= now) {
    throw new AppError("UNAUTHORIZED", "Your dashboard session has ended. Sign in again.");
  }
  return {
    user,
    claims: {
      sub: user.id,
      sid: session.familyId,
      jti: "web",
      role: user.role,
      exp: Math.floor(session.expiresAt / 1000),
    },
  };
}

/** Ends a dashboard session and the sign-in behind it. */
export async function closeWebSession(ctx: AppContext, token: string): Promise<void> {
  const hash = await hashRefreshToken(token);
  const session: WebSession | null = await getWebSession(ctx.kv, hash);
  await deleteWebSession(ctx.kv, hash);
  if (!session) return;
  await revokeFamily(ctx.kv, session.familyId, ctx.clock.now());
  await emitEvent(ctx, "user", "user.signed_out", {
    user_id: session.userId,
    family_id: session.familyId,
  });
  await afterSignOut(ctx, session.userId);
}
