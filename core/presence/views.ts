import type { PresenceRecord } from "../../kv/presence.ts";
import type { User } from "../../kv/users.ts";
import type { PresenceContext, PresenceView } from "./context.ts";
import { factsOf, isOnline, timeoutMs, view } from "./status.ts";

/* What presence reads show: many users at once, from the caches, serialized once per record. */

/**
 * Calls `each` for every id, in order, with whether the user is online and their record (none
 * for an unknown user or one never seen), from the caches.
 */
async function eachPresence(
  ctx: PresenceContext,
  userIds: string[],
  each: (id: string, online: boolean, record: PresenceRecord | null) => void,
): Promise<void> {
  const timeout = await timeoutMs(ctx);
  const [records, users] = await Promise.all([
    ctx.presence.cache.many(userIds),
    ctx.sessionCache.users(userIds),
  ]);
  const now = ctx.clock.now();
  for (let i = 0; i < userIds.length; i++) {
    const user = users[i];
    const record = records[i];
    if (!user || record.seen === null) {
      each(userIds[i], false, null);
      continue;
    }
    const online = isOnline(factsOf(record), {
      now,
      timeoutMs: timeout,
      active: user.status === "active",
    });
    each(userIds[i], online, record);
  }
}

/** `seen` as the API writes it, worked out once per record. */
function seenIsoOf(record: PresenceRecord): string | null {
  return record.seenIso ??= record.seen === null ? null : new Date(record.seen).toISOString();
}

/** Presence of many users (unknown ids read as offline, never seen), from the caches. */
export async function presenceOf(ctx: PresenceContext, userIds: string[]): Promise<PresenceView[]> {
  const out: PresenceView[] = [];
  await eachPresence(ctx, userIds, (id, online, record) => {
    out.push({
      user_id: id,
      status: online ? "online" : "offline",
      last_seen: record ? seenIsoOf(record) : null,
    });
  });
  return out;
}

/**
 * `presenceOf`'s answer as JSON text. A busy query asks for the same users again and again, so
 * each record's entry is serialized once (per status) and reused until the record changes.
 */
export async function presenceJson(ctx: PresenceContext, userIds: string[]): Promise<string> {
  let json = "";
  await eachPresence(ctx, userIds, (id, online, record) => {
    if (json.length > 0) json += ",";
    if (record === null) {
      json += JSON.stringify({ user_id: id, status: "offline", last_seen: null });
    } else {
      const cached = record.json ??= {};
      json += online
        ? cached.online ??= entryJson(id, "online", record)
        : cached.offline ??= entryJson(id, "offline", record);
    }
  });
  return `[${json}]`;
}

function entryJson(id: string, status: "online" | "offline", record: PresenceRecord): string {
  return JSON.stringify(
    { user_id: id, status, last_seen: seenIsoOf(record) } satisfies PresenceView,
  );
}

/** Presence of users already read (admin lists). */
export async function presenceOfUsers(
  ctx: PresenceContext,
  users: User[],
): Promise<Map<string, PresenceView>> {
  const timeout = await timeoutMs(ctx);
  const records = await ctx.presence.cache.many(users.map((u) => u.id));
  const now = ctx.clock.now();
  return new Map(users.map((user, i) => {
    const facts = factsOf(records[i]);
    const online = isOnline(facts, { now, timeoutMs: timeout, active: user.status === "active" });
    return [user.id, view(user.id, facts, online)];
  }));
}
