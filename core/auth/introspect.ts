import { Buffer } from "node:buffer";
import type { Introspection } from "../../contract/api.ts";
import type { Services } from "../services.ts";

const INACTIVE: Introspection = { active: false };
/** Longer than any access token Doorman signs; anything longer is not one. */
const MAX_TOKEN_LENGTH = 4096;

/**
 * Whether an access token works right now, for a backend that must know about a logout at
 * once: the token is verified as every authenticated request verifies it, and its sign-in and
 * user are read from the same session cache (at most a second stale, dropped at once on
 * change). Anything that would make a request fail — bad signature, expired, sign-in ended,
 * user gone or not active — is `{ active: false }`.
 */
export async function introspect(ctx: Services, token: string): Promise<Introspection> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return INACTIVE;
  const now = ctx.clock.now();
  let claims;
  try {
    claims = await ctx.tokens.verify(token, now);
  } catch {
    return INACTIVE;
  }
  const [family, user] = await Promise.all([
    ctx.sessionCache.family(claims.sid),
    ctx.sessionCache.user(claims.sub),
  ]);
  if (!user || user.status !== "active") return INACTIVE;
  if (
    !family || family.userId !== user.id || family.revokedAt !== null || family.expiresAt <= now
  ) {
    return INACTIVE;
  }
  return {
    active: true,
    sub: claims.sub,
    sid: claims.sid,
    exp: claims.exp,
    iat: issuedAt(claims, token),
    // The role as stored now, as the admin API judges it, not as it was at signing.
    role: user.role,
    status: user.status,
  };
}

/** `iat` of a token already verified: from its claims, or read from its payload. */
function issuedAt(claims: object, token: string): number {
  const known = (claims as { iat?: unknown }).iat;
  if (typeof known === "number") return known;
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
    if (typeof payload.iat === "number") return payload.iat;
  } catch {
    // Verified tokens always carry a payload; fall through to a safe default.
  }
  return 0;
}
