import { EVENT_LOG_TTL_MS, listUserEvents, type StoredEvent } from "../../kv/events.ts";
import { getUser } from "../../kv/users.ts";
import { endSessions } from "../auth/sessions.ts";
import { activeSessions, listSessions, noSession, type SessionView } from "../auth/session_list.ts";
import { AppError } from "../errors.ts";
import { decodeTime } from "../ids.ts";
import { type PresenceContext, presenceOfUsers } from "../presence/presence.ts";
import { type Actor, addAuditWrites } from "./audit.ts";
import { type AdminUser, adminUser } from "./users.ts";

/** Recent events shown with a user. */
export const USER_EVENTS_LIMIT = 50;

/** `GET /api/v1/admin/users/:id`. */
export interface AdminUserDetail {
  user: AdminUser;
  sessions: SessionView[];
  /** Events about the user from the last 24 h, newest first, as the event stream sends them. */
  events: Pick<StoredEvent, "id" | "kind" | "data">[];
}

/**
 * One user for the admin: the user with presence, their active sign-ins and their recent
 * events (from the per-user index of the event log: one short list read). 404 when unknown.
 */
export async function readAdminUser(ctx: PresenceContext, id: string): Promise<AdminUserDetail> {
  const now = ctx.clock.now();
  const [user, sessions, events] = await Promise.all([
    getUser(ctx.kv, id),
    listSessions(ctx, id),
    listUserEvents(ctx.kv, id, USER_EVENTS_LIMIT),
  ]);
  if (!user) throw noUser(id);
  const presence = await presenceOfUsers(ctx, [user]);
  return {
    user: adminUser(user, presence.get(id)!),
    sessions,
    // Past the log's 24 h (an entry may linger a little): the oldest, so only the tail goes.
    events: events
      .filter((event) => decodeTime(event.id) >= now - EVENT_LOG_TTL_MS)
      .map((event) => ({ id: event.id, kind: event.kind, data: event.data })),
  };
}

/**
 * An admin ends one sign-in of a user (`familyId`) or all of them (then the user goes offline
 * at once), audited as `user.sessions_revoke` in the commit that revokes them. 404 for an
 * unknown user, or a sign-in that is not the user's or not active.
 */
export async function endUserSessions(
  ctx: PresenceContext,
  target: { userId: string; familyId?: string },
  actor: Actor,
): Promise<void> {
  const { userId, familyId } = target;
  const now = ctx.clock.now();
  const [user, families] = await Promise.all([
    getUser(ctx.kv, userId),
    activeSessions(ctx, userId, now),
  ]);
  if (!user) throw noUser(userId);
  const ending = families.map((f) => f.family).filter((f) => !familyId || f.id === familyId);
  if (familyId && ending.length === 0) throw noSession(familyId);
  const changes = {
    sessions: { from: families.length, to: families.length - ending.length },
    ...(familyId ? { session: { from: familyId, to: null } } : {}),
  };
  await endSessions(ctx, {
    userId,
    families: ending,
    offline: !familyId,
    by: actor.userId ?? actor.apiKeyId,
    record: ending.length === 0 ? undefined : (writes) => [
      addAuditWrites(ctx, writes, {
        actor,
        action: "user.sessions_revoke",
        target: userId,
        userId,
        changes,
      }),
    ],
  });
}

function noUser(id: string): AppError {
  return new AppError("NOT_FOUND", `No user "${id}".`);
}
