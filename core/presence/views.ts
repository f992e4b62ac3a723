import type { PresenceRecord } from "../../kv/presence.ts";
import type { User } from "../../kv/users.ts";
import type { PresenceContext, PresenceView } from "./context.ts";
import { factsOf, isOnline, timeoutMs, view } from "./status.ts";
import { sees, SEES_ALL, type Viewer } from "./visibility.ts";

/*
 * What presence reads show: many users at once, from the caches, serialized once per record.
 * A user `viewer` may not see reads exactly as an unknown id does.
 */

/**
 * Calls `each` for every id, in order, with whether the user is online and their record (none
 * for an unknown user, one never seen, or one hidden from `viewer`), from the caches.
 */
async function eachPresence(
  ctx: PresenceContext,
  userIds: readonly string[],
  viewer: Viewer,
  each: (id: string, online: boolean, record: PresenceRecord | null, hidden: boolean) => void,
): Promise<void> {
  const timeout = await timeoutMs(ctx);
  const [records, users] = await Promise.all([
    ctx.presence.cache.many(userIds),
    ctx.sessionCache.users(userIds),
  ]);
  const hidden = await ctx.presence.visibility.hiddenOf(viewer, users);
  const now = ctx.clock.now();
  for (let i = 0; i < userIds.length; i++) {
    const user = users[i];
    const record = records[i];
    if (!user || record.seen === null || (hidden !== null && hidden[i])) {
      each(userIds[i], false, null, hidden !== null && hidden[i]);
      continue;
    }
    const online = isOnline(factsOf(record), {
      now,
      timeoutMs: timeout,
      active: user.status === "active",
    });
    each(userIds[i], online, record, false);
  }
}

/** `seen` as the API writes it, worked out once per record. */
function seenIsoOf(record: PresenceRecord): string | null {
  return record.seenIso ??= record.seen === null ? null : new Date(record.seen).toISOString();
}

/**
 * Presence of many users as `viewer` may see it (unknown and hidden ids read as offline,
 * never seen), from the caches; everyone's by default (internal reads).
 */
export async function presenceOf(
  ctx: PresenceContext,
  userIds: readonly string[],
  viewer: Viewer = SEES_ALL,
): Promise<PresenceView[]> {
  const out: PresenceView[] = [];
  await eachPresence(ctx, userIds, viewer, (id, online, record) => {
    out.push({
      user_id: id,
      status: online ? "online" : "offline",
      last_seen: record ? seenIsoOf(record) : null,
    });
  });
  return out;
}

/**
 * What a socket's `subscribe` answers: each user's presence as the socket's user may see it,
 * and whether it is hidden from them; admins see everyone (`seesAll`).
 */
export async function presenceSeenBy(
  ctx: PresenceContext,
  viewerId: string,
  userIds: readonly string[],
): Promise<{ seesAll: boolean; views: { view: PresenceView; hidden: boolean }[] }> {
  const seesAll = (await ctx.sessionCache.user(viewerId))?.role === "admin";
  const viewer: Viewer = seesAll ? SEES_ALL : { all: false, userId: viewerId };
  const views: { view: PresenceView; hidden: boolean }[] = [];
  await eachPresence(ctx, userIds, viewer, (id, online, record, hidden) => {
    views.push({
      hidden,
      view: {
        user_id: id,
        status: online ? "online" : "offline",
        last_seen: record ? seenIsoOf(record) : null,
      },
    });
  });
  return { seesAll, views };
}

/**
 * A user's presence and who may see it, read fresh from KV (their visibility or contacts
 * just changed): sockets re-decide what their watchers see from it.
 */
export async function sightOf(
  ctx: PresenceContext,
  userId: string,
): Promise<{ view: PresenceView; sees: (viewerId: string) => boolean }> {
  const { user, contacts } = await ctx.presence.visibility.fresh(userId);
  const [view] = await presenceOf(ctx, [userId]);
  return { view, sees: (viewerId) => user === null || sees(user, contacts, viewerId) };
}

/**
 * `presenceOf`'s answer as JSON text. A busy query asks for the same users again and again, so
 * each record's entry is serialized once (per status) and reused until the record changes.
 */
export async function presenceJson(
  ctx: PresenceContext,
  userIds: readonly string[],
  viewer: Viewer,
): Promise<string> {
  let json = "";
  await eachPresence(ctx, userIds, viewer, (id, online, record) => {
    if (json.length > 0) json += ",";
    if (record === null) {
      // Hidden users read like unknown ids, often half an answer: written without a stringify
      // when the id needs no escaping (the route lets through no other).
      json += PLAIN_ID.test(id)
        ? `{"user_id":"${id}","status":"offline","last_seen":null}`
        : JSON.stringify({ user_id: id, status: "offline", last_seen: null });
    } else {
      const cached = record.json ??= {};
      json += online
        ? cached.online ??= entryJson(id, "online", record)
        : cached.offline ??= entryJson(id, "offline", record);
    }
  });
  return `[${json}]`;
}

const PLAIN_ID = /^[\w-]+$/;

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
