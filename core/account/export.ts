import type { AccountExport } from "../../contract/api.ts";
import { getPresenceContacts } from "../../kv/erasure.ts";
import { EVENT_LOG_TTL_MS, listUserEvents } from "../../kv/events.ts";
import { getUser } from "../../kv/users.ts";
import { listSessions } from "../auth/session_list.ts";
import { AppError } from "../errors.ts";
import { decodeTime } from "../ids.ts";
import type { Services } from "../services.ts";
import { publicUser } from "../users.ts";

/** Events an export carries at most: the log keeps a user's last 24 h, far fewer in practice. */
const EXPORT_EVENTS_LIMIT = 10_000;

/** What `GET /api/v1/me/export` answers: a wire type, shared with the client SDK. */
export type { AccountExport };

/**
 * Everything Doorman keeps about a user (data portability): the user, their active sessions,
 * who may see their presence, and their events of the last 24 h, oldest first. 404 when the
 * user is unknown (an admin's export of an erased user).
 */
export async function exportAccount(ctx: Services, userId: string): Promise<AccountExport> {
  const now = ctx.clock.now();
  const [user, sessions, contacts, events] = await Promise.all([
    getUser(ctx.kv, userId),
    listSessions(ctx, userId),
    getPresenceContacts(ctx.kv, userId),
    listUserEvents(ctx.kv, userId, EXPORT_EVENTS_LIMIT),
  ]);
  if (!user) throw new AppError("NOT_FOUND", `No user "${userId}".`);
  return {
    user: publicUser(user),
    sessions,
    presence: { visibility: user.presenceVisibility ?? "everyone", contacts },
    events: events
      .filter((event) => decodeTime(event.id) >= now - EVENT_LOG_TTL_MS)
      .reverse()
      .map((event) => ({ id: event.id, kind: event.kind, data: event.data })),
  };
}
