import { getSessionsWithUse, listSessionsOfUser, type Session } from "../../kv/sessions.ts";
import { AppError } from "../errors.ts";
import type { PresenceContext } from "../presence/presence.ts";
import type { Services } from "../services.ts";
import { type Caller, endSession, endSessions } from "./sessions.ts";

/** A sign-in as the sessions lists show it (`GET /api/v1/sessions`, admin user detail). */
export interface SessionView {
  id: string;
  created_at: string;
  last_used_at: string;
  user_agent: string | null;
  ip: string | null;
}

/** A user's active sign-ins (neither revoked nor expired), newest first. */
export async function listSessions(ctx: Services, userId: string): Promise<SessionView[]> {
  const now = ctx.clock.now();
  const families = await activeSessions(ctx, userId, now);
  return families.map(({ family, lastUsedAt }) => ({
    id: family.id,
    created_at: new Date(family.createdAt).toISOString(),
    // What this instance noted and may not have written yet counts too.
    last_used_at: new Date(Math.max(lastUsedAt, ctx.sessionUse.lastNoted(family.id) ?? 0))
      .toISOString(),
    user_agent: family.userAgent ?? null,
    ip: family.ip ?? null,
  }));
}

/** `GET /api/v1/sessions`: the caller's sign-ins, the one they call with marked `current`. */
export async function listOwnSessions(
  ctx: Services,
  caller: Caller,
): Promise<(SessionView & { current: boolean })[]> {
  const views = await listSessions(ctx, caller.user.id);
  return views.map((view) => ({ ...view, current: view.id === caller.claims.sid }));
}

/**
 * `DELETE /api/v1/sessions/:id`: ends one of the caller's sign-ins the way logout does (at
 * once, on every instance). 404 when it is not the caller's, or not active.
 */
export async function endOwnSession(
  ctx: PresenceContext,
  caller: Caller,
  familyId: string,
): Promise<void> {
  const now = ctx.clock.now();
  const [found] = await getSessionsWithUse(ctx.kv, [familyId]).then((m) => [...m.values()]);
  if (!found || !isActive(found.family, caller.user.id, now)) throw noSession(familyId);
  await endSession(ctx, { userId: caller.user.id, familyId });
}

/** `DELETE /api/v1/sessions`: ends every sign-in of the caller but the one they call with. */
export async function endOtherSessions(ctx: PresenceContext, caller: Caller): Promise<void> {
  const families = await activeSessions(ctx, caller.user.id, ctx.clock.now());
  await endSessions(ctx, {
    userId: caller.user.id,
    families: families.map((f) => f.family).filter((f) => f.id !== caller.claims.sid),
  });
}

/** The active sign-ins of a user with their last use, newest first. */
export async function activeSessions(
  ctx: Services,
  userId: string,
  now: number,
): Promise<{ family: Session; lastUsedAt: number }[]> {
  const ids = await listSessionsOfUser(ctx.kv, userId, now);
  const found = await getSessionsWithUse(ctx.kv, ids);
  return [...found.values()]
    .filter(({ family }) => isActive(family, userId, now))
    .sort((a, b) =>
      b.family.createdAt - a.family.createdAt || b.family.id.localeCompare(a.family.id)
    );
}

function isActive(family: Session, userId: string, now: number): boolean {
  return family.userId === userId && family.revokedAt === null && family.expiresAt > now;
}

/** 404 for a sign-in that is not there (or not the caller's: the same answer). */
export function noSession(id: string): AppError {
  return new AppError("NOT_FOUND", `No active sign-in "${id}".`);
}
