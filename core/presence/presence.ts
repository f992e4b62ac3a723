import {
  commitTransition,
  dropSocket,
  listOnlineUserIds,
  type PresenceState,
  readPresence,
  readPresenceMany,
  saveSockets,
} from "../../kv/presence.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { listFamiliesOfUser } from "../../kv/sessions.ts";
import { getUser, getUsers, type User } from "../../kv/users.ts";
import type { Deadlines } from "../jobs/timers.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";
import type { ActivityBatcher } from "./batcher.ts";

/** What presence needs besides the services: group commits and this instance's deadlines. */
export interface PresenceContext extends Services {
  presence: {
    /** Group commit of activity writes. */
    activity: ActivityBatcher;
    /** In-process offline deadlines (the cron sweep is the durable backstop). */
    deadlines: Deadlines;
  };
}

/** A user's presence as the API shows it. */
export interface PresenceView {
  user_id: string;
  status: "online" | "offline";
  last_seen: string | null;
}

/** One open WebSocket of a user. */
export interface SocketRef {
  userId: string;
  socketId: string;
}

/** What presence is derived from. */
interface PresenceFacts {
  seen: number | null;
  state: PresenceState | null;
}

/**
 * Online means: the account is active, something was seen after the last deliberate
 * offline (logout, last socket closed, suspension), and that was less than the timeout ago.
 * Derived at read time, so it is exact whether or not any job has run.
 */
export function isOnline(
  facts: PresenceFacts,
  options: { now: number; timeoutMs: number; active: boolean },
): boolean {
  if (!options.active || facts.seen === null) return false;
  if (facts.state?.offlineAt != null && facts.seen <= facts.state.offlineAt) return false;
  return options.now - facts.seen < options.timeoutMs;
}

function view(userId: string, facts: PresenceFacts, online: boolean): PresenceView {
  return {
    user_id: userId,
    status: online ? "online" : "offline",
    last_seen: facts.seen === null ? null : new Date(facts.seen).toISOString(),
  };
}

async function timeoutMs(ctx: Services): Promise<number> {
  return (await ctx.settings.get()).presence_timeout_seconds * 1000;
}

function presenceEvent(
  ctx: Services,
  userId: string,
  online: boolean,
  at: number,
  seen: number | null,
): LiveEvent {
  return ctx.bus.newEvent("presence", online ? "presence.online" : "presence.offline", at, {
    user_id: userId,
    status: online ? "online" : "offline",
    last_seen: seen === null ? null : new Date(seen).toISOString(),
  });
}

/**
 * Records activity of an active user (heartbeat, sign-in, socket). A user already online
 * costs one read and a share of a group commit; a user coming online is a transition: the
 * state, counter, index and event commit together, exactly once across instances.
 */
export async function recordActivity(
  ctx: PresenceContext,
  userId: string,
  options: { heartbeat: boolean },
): Promise<PresenceView> {
  const timeout = await timeoutMs(ctx);
  return await retry(`record presence of "${userId}"`, async () => {
    const now = ctx.clock.now();
    const record = await readPresence(ctx.kv, userId);
    const facts = { seen: record.seen, state: record.state.value };
    const touch = { userId, at: now, heartbeat: options.heartbeat };
    if (record.state.value?.online && isOnline(facts, { now, timeoutMs: timeout, active: true })) {
      await ctx.presence.activity.touch(touch);
      // Already pending? It fires, sees this activity, and moves itself to seen + timeout.
      ctx.presence.deadlines.ensure(userId, now + timeout);
      return view(userId, { ...facts, seen: now }, true);
    }
    const events: LiveEvent[] = [];
    if (record.state.value?.online) {
      // Recorded online but silent past the timeout, and no sweep noticed yet: the offline
      // transition happened first, at the moment the timeout ran out.
      const wentOffline = Math.min(now, (record.seen ?? now) + timeout);
      events.push(presenceEvent(ctx, userId, false, wentOffline, record.seen));
    }
    events.push(presenceEvent(ctx, userId, true, now, now));
    const committed = await commitTransition(ctx.kv, {
      userId,
      state: record.state,
      next: { online: true, changedAt: now, offlineAt: record.state.value?.offlineAt ?? null },
      events,
      touch,
    });
    if (!committed) return CONFLICT;
    ctx.bus.publish(...events);
    ctx.presence.deadlines.schedule(userId, now + timeout);
    return view(userId, { ...facts, seen: now }, true);
  });
}

/** The answer of a heartbeat: the user's presence, and when to send the next one. */
export interface HeartbeatAnswer {
  status: "online" | "offline";
  last_seen: string | null;
  next_heartbeat_in: number;
}

/** An HTTP heartbeat: keeps the user online and tells the client when to beat again. */
export async function heartbeat(ctx: PresenceContext, userId: string): Promise<HeartbeatAnswer> {
  const presence = await recordActivity(ctx, userId, { heartbeat: true });
  const settings = await ctx.settings.get();
  return {
    status: presence.status,
    last_seen: presence.last_seen,
    next_heartbeat_in: settings.heartbeat_interval_seconds,
  };
}

/**
 * Takes a user offline now, on purpose (logout, last socket closed, account disabled):
 * later activity brings them back. Emits the transition if they were recorded online.
 */
export async function takeOffline(ctx: PresenceContext, userId: string): Promise<void> {
  await retry(`take "${userId}" offline`, async () => {
    const now = ctx.clock.now();
    const record = await readPresence(ctx.kv, userId);
    const events = record.state.value?.online
      ? [presenceEvent(ctx, userId, false, now, record.seen)]
      : [];
    const committed = await commitTransition(ctx.kv, {
      userId,
      state: record.state,
      next: { online: false, changedAt: now, offlineAt: now },
      events,
    });
    if (!committed) return CONFLICT;
    ctx.presence.deadlines.cancel(userId);
    ctx.bus.publish(...events);
  });
}

/**
 * Emits the offline transition of a user recorded online who is no longer (silence past the
 * timeout, or a disabled account). Idempotent: run it twice, or on two instances, and the
 * versionstamp check lets exactly one transition through. Returns whether it took them offline.
 */
export async function settlePresence(ctx: PresenceContext, userId: string): Promise<boolean> {
  const timeout = await timeoutMs(ctx);
  return await retry(`settle presence of "${userId}"`, async () => {
    const now = ctx.clock.now();
    const [record, user] = await Promise.all([
      readPresence(ctx.kv, userId),
      getUser(ctx.kv, userId),
    ]);
    if (!record.state.value?.online) return false;
    const facts = { seen: record.seen, state: record.state.value };
    const active = user?.status === "active";
    if (isOnline(facts, { now, timeoutMs: timeout, active })) {
      ctx.presence.deadlines.schedule(userId, (record.seen ?? now) + timeout);
      return false;
    }
    const at = active ? Math.min(now, (record.seen ?? now) + timeout) : now;
    const events = [presenceEvent(ctx, userId, false, at, record.seen)];
    const committed = await commitTransition(ctx.kv, {
      userId,
      state: record.state,
      next: { ...record.state.value, online: false, changedAt: now },
      events,
    });
    if (!committed) return CONFLICT;
    ctx.bus.publish(...events);
    return true;
  });
}

/**
 * The durable backstop of the in-process deadlines, run by `Deno.cron` every minute: walks
 * only the users recorded online and settles each. Returns how many went offline.
 */
export async function sweepPresence(ctx: PresenceContext): Promise<number> {
  let cursor: string | undefined;
  let settled = 0;
  do {
    const page = await listOnlineUserIds(ctx.kv, { cursor, limit: 200 });
    const results = await Promise.all(page.ids.map((id) => settlePresence(ctx, id)));
    settled += results.filter(Boolean).length;
    cursor = page.cursor ?? undefined;
  } while (cursor);
  return settled;
}

/** Presence of many users (unknown ids read as offline, never seen), in one batched read. */
export async function presenceOf(ctx: Services, userIds: string[]): Promise<PresenceView[]> {
  const timeout = await timeoutMs(ctx);
  const [facts, users] = await Promise.all([
    readPresenceMany(ctx.kv, userIds),
    getUsers(ctx.kv, userIds),
  ]);
  const now = ctx.clock.now();
  return userIds.map((id) => {
    const user = users.get(id);
    const f = user ? facts.get(id) ?? { seen: null, state: null } : { seen: null, state: null };
    return view(id, f, isOnline(f, { now, timeoutMs: timeout, active: user?.status === "active" }));
  });
}

/** Presence of users already read (admin lists). */
export async function presenceOfUsers(
  ctx: Services,
  users: User[],
): Promise<Map<string, PresenceView>> {
  const timeout = await timeoutMs(ctx);
  const facts = await readPresenceMany(ctx.kv, users.map((u) => u.id));
  const now = ctx.clock.now();
  return new Map(users.map((user) => {
    const f = facts.get(user.id) ?? { seen: null, state: null };
    const online = isOnline(f, { now, timeoutMs: timeout, active: user.status === "active" });
    return [user.id, view(user.id, f, online)];
  }));
}

/** After a logout: offline unless another sign-in of the user is still open. */
export async function afterSignOut(ctx: PresenceContext, userId: string): Promise<void> {
  const families = await listFamiliesOfUser(ctx.kv, userId, ctx.clock.now());
  if (families.length === 0) await takeOffline(ctx, userId);
}

/** An authenticated socket opened: it is recorded (for other instances) and its user is seen. */
export async function socketOpened(ctx: PresenceContext, socket: SocketRef): Promise<void> {
  await socketsAlive(ctx, [socket]);
}

/**
 * Sockets still open, every heartbeat interval: each is recorded as alive (it lapses twice
 * the timeout after it stops being refreshed) and each of their users is seen.
 */
export async function socketsAlive(ctx: PresenceContext, sockets: SocketRef[]): Promise<void> {
  if (sockets.length === 0) return;
  const ttlMs = (await timeoutMs(ctx)) * 2;
  await saveSockets(ctx.kv, { sockets, instance: ctx.instance, at: ctx.clock.now(), ttlMs });
  const users = [...new Set(sockets.map((socket) => socket.userId))];
  await Promise.all(users.map((userId) => recordActivity(ctx, userId, { heartbeat: false })));
}

/**
 * A socket closed: the user goes offline at once unless another socket of theirs (on any
 * instance) or a recent HTTP heartbeat from another device still keeps them online.
 */
export async function socketClosed(ctx: PresenceContext, socket: SocketRef): Promise<void> {
  const now = ctx.clock.now();
  const timeout = await timeoutMs(ctx);
  const otherSocket = await retry("forget a closed socket", () =>
    dropSocket(ctx.kv, {
      userId: socket.userId,
      socketId: socket.socketId,
      freshAfter: now - timeout,
    }));
  if (otherSocket) return;
  const { heartbeat } = await readPresence(ctx.kv, socket.userId);
  if (heartbeat === null || now - heartbeat >= timeout) await takeOffline(ctx, socket.userId);
}
