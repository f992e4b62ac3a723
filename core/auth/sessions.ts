import type { TokenPair } from "../../contract/api.ts";
import {
  addRevokeSession,
  getRefreshToken,
  getSession,
  revokeSession,
  type Session,
} from "../../kv/sessions.ts";
import type { User } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { addEventWrites, emitEvent } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import { afterSignOut, type PresenceContext, takeOffline } from "../presence/presence.ts";
import type { Services } from "../services.ts";
import { accountDisabled, publicUser } from "../users.ts";
import {
  makeRefreshToken,
  namesItsSession,
  newRefreshSalt,
  parseRefreshToken,
  refreshMacMatches,
} from "./refresh_tokens.ts";
import { type AccessClaims, hashRefreshToken } from "./tokens.ts";

/** 403 `ACCOUNT_DISABLED`: kept with the users, where presence raises it too. */
export { accountDisabled };

/** The answer of verify and refresh: a wire type, shared with the client SDK. */
export type { TokenPair };

/** The record of a new sign-in, and the refresh token to hand out (which names it; never stored). */
export interface NewSession {
  family: Session;
  refreshToken: string;
}

/** The longest `User-Agent` a sign-in keeps. */
export const MAX_USER_AGENT = 256;

/** The client a sign-in is made from, as the sessions lists show it. */
export interface SessionClient {
  userAgent?: string | null;
  ip?: string | null;
}

/**
 * Builds the record of a new sign-in for `userId`, with the client it came from (kept in
 * the family record, so opening it costs no extra write); the caller commits it.
 */
export function newSession(
  ctx: Services,
  userId: string,
  options: { now: number; client?: SessionClient },
): NewSession {
  const { now, client } = options;
  const expiresAt = now + ctx.config.refreshTokenTtlSeconds * 1000;
  const family: Session = {
    id: newId("fam", now),
    userId,
    createdAt: now,
    expiresAt,
    revokedAt: null,
    userAgent: client?.userAgent ? client.userAgent.slice(0, MAX_USER_AGENT) : null,
    ip: client?.ip ?? null,
    lastUsedAt: now,
    generation: 1,
    salt: newRefreshSalt(),
    rotations: [],
  };
  return { family, refreshToken: tokenOf(ctx, family)! };
}

/** The refresh token a session's current generation names (null for a session of before). */
export function tokenOf(ctx: Services, family: Session): string | null {
  if (family.generation === undefined || family.salt === undefined) return null;
  return makeRefreshToken(ctx.refreshKey, {
    id: family.id,
    generation: family.generation,
    salt: family.salt,
  });
}

/** The token pair and user a client receives once a sign-in is stored. */
export async function signInAnswer(
  ctx: Services,
  user: User,
  session: { familyId: string; refreshToken: string },
): Promise<TokenPair> {
  return {
    access_token: await ctx.tokens.sign({
      sub: user.id,
      sid: session.familyId,
      role: user.role,
      now: ctx.clock.now(),
    }),
    refresh_token: session.refreshToken,
    token_type: "Bearer",
    expires_in: ctx.tokens.accessTtlSeconds,
    user: publicUser(user),
  };
}

/** The caller behind a Bearer token: claims and current user, or 401. */
export interface Caller {
  claims: AccessClaims;
  user: User;
}

/**
 * Checks an `Authorization: Bearer …` header: a valid token whose sign-in is not revoked,
 * of a user who still exists and is active.
 */
export async function authenticate(ctx: Services, header: string | undefined): Promise<Caller> {
  const match = header?.match(/^Bearer\s+([A-Za-z0-9_\-.]{1,4096})\s*$/i);
  if (!match) {
    throw new AppError("UNAUTHORIZED", "Send an access token: Authorization: Bearer <token>.");
  }
  const now = ctx.clock.now();
  const claims = await ctx.tokens.verify(match[1], now);
  // Both from the sign-in cache: nothing is read while they are fresh (a second at most).
  const [family, user] = await Promise.all([
    ctx.sessionCache.family(claims.sid),
    ctx.sessionCache.user(claims.sub),
  ]);
  if (!user) throw new AppError("UNAUTHORIZED", "Access token is not valid.");
  // A disabled account says so (its sign-ins were revoked with it, which would say less).
  if (user.status !== "active") throw accountDisabled(user);
  if (
    !family || family.userId !== user.id || family.revokedAt !== null || family.expiresAt <= now
  ) {
    throw new AppError("UNAUTHORIZED", "This sign-in has ended. Sign in again.");
  }
  ctx.sessionUse.used(family, now);
  return { claims, user };
}

/**
 * Ends the caller's sign-in: its access token and refresh family stop working at once. A
 * refresh token in the body, if it belongs to the same user, ends its sign-in too — the same
 * way (its event closes that sign-in's sockets on every instance); anyone else's is ignored.
 */
export async function logout(
  ctx: PresenceContext,
  caller: Caller,
  refreshToken?: string,
): Promise<void> {
  if (refreshToken) {
    const named = await sessionOfToken(ctx, refreshToken);
    if (named?.userId === caller.user.id && named.familyId !== caller.claims.sid) {
      await endSession(ctx, { userId: caller.user.id, familyId: named.familyId });
    }
  }
  await endSession(ctx, { userId: caller.user.id, familyId: caller.claims.sid });
}

/** The session a refresh token (of either shape) belongs to, if the server made it. */
async function sessionOfToken(
  ctx: Services,
  refreshToken: string,
): Promise<{ userId: string; familyId: string } | null> {
  if (!namesItsSession(refreshToken)) {
    const { token } = await getRefreshToken(ctx.kv, await hashRefreshToken(refreshToken));
    return token.value ? { userId: token.value.userId, familyId: token.value.familyId } : null;
  }
  const token = parseRefreshToken(refreshToken);
  if (!token) return null;
  const session = (await getSession(ctx.kv, token.sessionId)).value;
  if (!session?.salt || !refreshMacMatches(ctx.refreshKey, token, session.salt)) return null;
  return { userId: session.userId, familyId: session.id };
}

/**
 * Ends one sign-in (refresh family): its tokens stop working at once, a `user.signed_out`
 * event closes its sockets everywhere, and the user goes offline unless another is open.
 */
export async function endSession(
  ctx: PresenceContext,
  signIn: { userId: string; familyId: string },
): Promise<void> {
  await revokeSession(ctx.kv, signIn.familyId, ctx.clock.now());
  ctx.sessionCache.forgetSession(signIn.familyId);
  await emitEvent(ctx, "user", "user.signed_out", {
    user_id: signIn.userId,
    family_id: signIn.familyId,
  });
  await afterSignOut(ctx, signIn.userId);
  ctx.log.info("signed out", { user_id: signIn.userId, family_id: signIn.familyId });
}

/** Sign-ins ended per commit: each is a few mutations, far below KV's 1,000. */
const ENDED_PER_COMMIT = 150;

/**
 * Ends many sign-ins of one user (the others of a user, or an admin's revocation), like
 * `endSession` does one, but in one commit: the sign-ins revoked, a `user.signed_out` event per
 * sign-in (other instances drop their cached copies and close its sockets), and what `record`
 * adds (an audit entry: recorded in the same commit as the change). Then the user goes offline
 * (`offline`), or unless another sign-in is still open.
 */
export async function endSessions(
  ctx: PresenceContext,
  options: {
    userId: string;
    families: Session[];
    offline?: boolean;
    /** The admin who ends them, named in each `user.signed_out` event (`by`). */
    by?: string;
    /** Adds writes to the (first) commit; returns events to publish once it went through. */
    record?: (writes: Writes) => LiveEvent[];
  },
): Promise<void> {
  const { userId, families, record } = options;
  for (let i = 0; i === 0 || i < families.length; i += ENDED_PER_COMMIT) {
    const chunk = families.slice(i, i + ENDED_PER_COMMIT);
    const now = ctx.clock.now();
    const writes = new Writes();
    const events: LiveEvent[] = [];
    for (const family of chunk) {
      addRevokeSession(writes, family, now);
      const event = ctx.bus.newEvent("user", "user.signed_out", now, {
        user_id: userId,
        family_id: family.id,
        ...(options.by ? { by: options.by } : {}),
      });
      addEventWrites(writes, event, now);
      events.push(event);
    }
    if (i === 0 && record) events.push(...record(writes));
    if (writes.size === 0) break;
    // Nothing in it is checked (see `addRevokeSession`): it cannot lose a race.
    await ctx.commits.commit(writes);
    for (const family of chunk) ctx.sessionCache.forgetSession(family.id);
    ctx.bus.publish(...events);
  }
  if (options.offline) await takeOffline(ctx, userId);
  else if (families.length > 0) await afterSignOut(ctx, userId);
  ctx.log.info("signed out", { user_id: userId, sign_ins: families.length });
}
