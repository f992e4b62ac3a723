import type { TokenPair } from "../../contract/api.ts";
import {
  addRotation,
  getRefreshToken,
  getSession,
  type RefreshToken,
  type Session,
} from "../../kv/sessions.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError } from "../errors.ts";
import type { PresenceContext } from "../presence/presence.ts";
import {
  namesItsSession,
  newRefreshSalt,
  parseRefreshToken,
  refreshMacMatches,
} from "./refresh_tokens.ts";
import { accountDisabled, endSession, signInAnswer, tokenOf } from "./sessions.ts";
import { hashRefreshToken } from "./tokens.ts";

/** A rotated token presented again this soon is a client racing itself, not a thief. */
export const REFRESH_REUSE_GRACE_MS = 10_000;

/**
 * Exchanges a refresh token for a new pair, in one (shared) commit. Each token works once.
 * Of two parallel exchanges of one token exactly one succeeds; the other — or any reuse
 * within 10 s of the rotation (two tabs of one app) — gets 401 and revokes nothing. A rotated
 * token presented later is taken as stolen: its whole sign-in is revoked. A token that names
 * its session but was not made by this server (a wrong MAC) is 401 and revokes nothing.
 * Tokens of before (stored under their hash) keep working until they expire; their exchange
 * hands out one that names its session.
 */
export async function refreshSession(
  ctx: PresenceContext,
  refreshToken: string,
): Promise<TokenPair> {
  if (namesItsSession(refreshToken)) return await refreshNamed(ctx, refreshToken);
  const hash = await hashRefreshToken(refreshToken);
  return await retry("refresh a sign-in", async () => {
    const now = ctx.clock.now();
    const { token, family } = await getRefreshToken(ctx.kv, hash);
    if (!token.value || !family?.value || token.value.expiresAt <= now) throw badRefresh();
    if (family.value.revokedAt !== null || family.value.expiresAt <= now) throw badRefresh();
    if (token.value.rotatedAt !== null) {
      if (now - token.value.rotatedAt >= REFRESH_REUSE_GRACE_MS) await reused(ctx, family.value);
      throw badRefresh();
    }
    return await rotate(ctx, family as Deno.KvEntry<Session>, {
      now,
      legacy: token as Deno.KvEntry<RefreshToken>,
    });
  });
}

/** A refresh with a token that names its session: the session is the one record read. */
function refreshNamed(ctx: PresenceContext, refreshToken: string): Promise<TokenPair> {
  const token = parseRefreshToken(refreshToken);
  if (!token) throw badRefresh();
  return retry("refresh a sign-in", async () => {
    const now = ctx.clock.now();
    // The record itself, not the cache: the rotation is checked against its versionstamp.
    const family = await getSession(ctx.kv, token.sessionId);
    const session = family.value;
    if (!session?.salt || session.generation === undefined) throw badRefresh();
    // Before anything else: a session id is no secret (access tokens carry it as `sid`), so
    // a token the server did not make must not revoke, nor tell anything about, its session.
    if (!refreshMacMatches(ctx.refreshKey, token, session.salt)) throw badRefresh();
    if (session.revokedAt !== null || session.expiresAt <= now) throw badRefresh();
    if (token.generation === session.generation) {
      return await rotate(ctx, family as Deno.KvEntry<Session>, { now });
    }
    // A token exchanged less than the grace ago is a client racing itself (README, "Try it with curl", step 4):
    // refused, nothing revoked. Any older one was stolen.
    const exchangedAt = session.rotations?.[session.generation - 1 - token.generation];
    const racing = exchangedAt !== undefined && now - exchangedAt < REFRESH_REUSE_GRACE_MS;
    if (token.generation < session.generation && !racing) await reused(ctx, session);
    throw badRefresh();
  });
}

/** A rotated token presented after the grace: taken as stolen, its sign-in ends. */
async function reused(ctx: PresenceContext, family: Session): Promise<void> {
  ctx.log.warn("refresh token reused: sign-in revoked", {
    family_id: family.id,
    user_id: family.userId,
  });
  await endSession(ctx, { userId: family.userId, familyId: family.id });
}

/** Moves a session to its next token generation and answers the new pair (CONFLICT: retry). */
async function rotate(
  ctx: PresenceContext,
  family: Deno.KvEntry<Session>,
  options: { now: number; legacy?: Deno.KvEntry<RefreshToken> },
): Promise<TokenPair | typeof CONFLICT> {
  const { now, legacy } = options;
  const user = await ctx.sessionCache.user(family.value.userId);
  if (!user) throw badRefresh();
  if (user.status !== "active") throw accountDisabled(user);
  const next: Session = {
    ...family.value,
    expiresAt: now + ctx.config.refreshTokenTtlSeconds * 1000,
    lastUsedAt: now,
    generation: (family.value.generation ?? 0) + 1,
    salt: family.value.salt ?? newRefreshSalt(),
    rotations: [
      now,
      ...(family.value.rotations ?? []).filter((at) => now - at < REFRESH_REUSE_GRACE_MS),
    ],
  };
  const writes = addRotation(new Writes(), { family, next, legacy, now });
  if (!await ctx.commits.commit(writes)) return CONFLICT;
  ctx.sessionCache.forgetSession(next.id);
  return await signInAnswer(ctx, user, { familyId: next.id, refreshToken: tokenOf(ctx, next)! });
}

function badRefresh(): AppError {
  return new AppError("UNAUTHORIZED", "Refresh token is not valid. Sign in again.");
}
