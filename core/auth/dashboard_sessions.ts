import {
  type DashboardSession,
  deleteDashboardSession,
  getDashboardSession,
  saveDashboardSession,
} from "../../kv/dashboard_sessions.ts";
import { AppError } from "../errors.ts";
import type { PresenceContext } from "../presence/presence.ts";
import type { Services } from "../services.ts";
import { toBase64Url } from "./codes.ts";
import { accountDisabled, type Caller, endSession } from "./sessions.ts";
import { hashRefreshToken } from "./tokens.ts";
import { signInWithCode, type VerifyContext } from "./verify.ts";

/** How long a dashboard session lasts. */
export const DASHBOARD_SESSION_TTL_MS = 12 * 3_600_000;

/** The outcome of signing in on the dashboard's page. */
export type DashboardSignIn =
  | { admin: true; userId: string; sessionToken: string }
  | { admin: false; userId: string };

/**
 * Signs in on the dashboard with a code. An admin gets a dashboard session (the cookie value
 * is returned, never stored as is); anyone else's sign-in ends at once, so a code typed into
 * the admin page never leaves an open session behind.
 */
export async function signInToDashboard(
  ctx: VerifyContext,
  input: { requestId: string; code: string; ip: string; userAgent?: string | null },
): Promise<DashboardSignIn> {
  const signIn = await signInWithCode(ctx, input);
  const userId = signIn.user.id;
  if (signIn.user.role !== "admin") {
    await endSession(ctx, { userId, familyId: signIn.familyId });
    return { admin: false, userId };
  }
  const sessionToken = await openDashboardSession(ctx, { userId, familyId: signIn.familyId });
  return { admin: true, userId, sessionToken };
}

/** Opens a dashboard session on a sign-in; returns the cookie value (never stored as is). */
export async function openDashboardSession(
  ctx: Services,
  options: { userId: string; familyId: string },
): Promise<string> {
  const token = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const now = ctx.clock.now();
  await saveDashboardSession(ctx.kv, await hashRefreshToken(token), {
    ...options,
    createdAt: now,
    expiresAt: now + DASHBOARD_SESSION_TTL_MS,
  });
  return token;
}

/**
 * The admin behind a session cookie: the session must be live, its sign-in not revoked, and
 * the user active. Revoking the sign-in (logout, suspension) ends the session too.
 */
export async function authenticateDashboardSession(ctx: Services, token: string): Promise<Caller> {
  const now = ctx.clock.now();
  const session = await getDashboardSession(ctx.kv, await hashRefreshToken(token));
  if (!session || session.expiresAt <= now) {
    throw new AppError("UNAUTHORIZED", "Your dashboard session has ended. Sign in again.");
  }
  const [family, user] = await Promise.all([
    ctx.sessionCache.family(session.familyId),
    ctx.sessionCache.user(session.userId),
  ]);
  if (!user) throw new AppError("UNAUTHORIZED", "Your dashboard session has ended.");
  if (user.status !== "active") throw accountDisabled(user);
  if (!family || family.revokedAt !== null || family.expiresAt <= now) {
    throw new AppError("UNAUTHORIZED", "Your dashboard session has ended. Sign in again.");
  }
  ctx.sessionUse.used(family, now);
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
export async function closeDashboardSession(ctx: PresenceContext, token: string): Promise<void> {
  const hash = await hashRefreshToken(token);
  const session: DashboardSession | null = await getDashboardSession(ctx.kv, hash);
  await deleteDashboardSession(ctx.kv, hash);
  if (!session) return;
  await endSession(ctx, { userId: session.userId, familyId: session.familyId });
}
