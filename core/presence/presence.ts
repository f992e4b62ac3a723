import type { HeartbeatAnswer, PresenceView } from "../../contract/api.ts";
import {
  addDueDrop,
  addDueMove,
  addTouch,
  addTransition,
  dropSocket,
  dueMinuteOf,
  listDueUsers,
  type PresenceRecord,
  type PresenceState,
  saveSockets,
} from "../../kv/presence.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { listFamiliesOfUser } from "../../kv/sessions.ts";
import type { User } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError } from "../errors.ts";
import type { Deadlines } from "../jobs/timers.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";
import { accountDisabled } from "../users.ts";
import type { PresenceCache } from "./cache.ts";

/** What presence needs besides the services: its cache and this instance's deadlines. */
export interface PresenceContext extends Services {
  presence: {
    /** Presence records as last read or written here (at most a second stale). */
    cache: PresenceCache;
    /** In-process offline deadlines (the cron sweep is the durable backstop). */
    deadlines: Deadlines;
  };
}

/** A user's presence as the API shows it: a wire type, shared with the client SDK. */
export type { PresenceView };

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

/** Sweep entries handled per page. */
const SWEEP_PAGE = 200;

/**
 * Online means: the account is active, and either something was seen after the last
 * deliberate offline (logout, last socket closed, suspension) less than the timeout ago, or
 * that offline's grace has not ended. Derived at read time, so it is exact whether or not any
 * job has run.
 */
export function isOnline(
  facts: PresenceFacts,
  options: { now: number; timeoutMs: number; active: boolean },
): boolean {
  if (!options.active || facts.seen === null) return false;
  return options.now < offlineFrom(facts, options.timeoutMs);
}

/**
 * When a user goes offline if nothing more is seen: the timeout after the last activity, or,
 * when nothing was seen since a deliberate offline, at its moment — or at the end of its grace
 * (a last socket closed: open until then, it counts for the whole grace, even one longer than
 * the timeout or ending after the silence since the socket's last keep-alive would).
 */
function offlineFrom(facts: PresenceFacts, timeoutMs: number): number {
  const silence = (facts.seen ?? -Infinity) + timeoutMs;
  const offlineAt = facts.state?.offlineAt ?? null;
  if (offlineAt === null || facts.seen === null || facts.seen > offlineAt) return silence;
  return facts.state?.graceUntil ?? Math.min(silence, offlineAt);
}

function view(userId: string, facts: PresenceFacts, online: boolean): PresenceView {
  return {
    user_id: userId,
    status: online ? "online" : "offline",
    last_seen: facts.seen === null ? null : new Date(facts.seen).toISOString(),
  };
}

function factsOf(record: PresenceRecord): PresenceFacts {
  return { seen: record.seen, state: record.state.value };
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

/** The record after a commit that touched it (and maybe moved its state and sweep entry). */
function afterCommit(
  record: PresenceRecord,
  changes: {
    at: number;
    heartbeat: boolean;
    state?: { value: PresenceState; versionstamp: string };
    dueMinute?: number | null;
  },
): PresenceRecord {
  const seen = Math.max(record.seen ?? 0, changes.at);
  return {
    seen,
    // Its versionstamp is not known here: only `fresh()` records are used for checks on it.
    seenEntry: record.seenEntry,
    heartbeat: changes.heartbeat ? Math.max(record.heartbeat ?? 0, changes.at) : record.heartbeat,
    state: changes.state ? { key: record.state.key, ...changes.state } : record.state,
    dueMinute: changes.dueMinute === undefined ? record.dueMinute : changes.dueMinute,
  };
}

/**
 * Adds the writes of activity by a user recorded online to `w`: the activity itself, and the
 * sweep entry moved to the minute the new silence would run out (once a minute at most).
 * Returns the record as it will be once `w` commits.
 */
function addActivity(
  w: Writes,
  options: {
    userId: string;
    record: PresenceRecord;
    at: number;
    heartbeat: boolean;
    timeout: number;
  },
): PresenceRecord {
  const { userId, record, at, heartbeat } = options;
  addTouch(w, { userId, at, heartbeat });
  const due = dueMinuteOf(at + options.timeout);
  if (record.dueMinute === null || due > record.dueMinute) {
    addDueMove(w, userId, record.dueMinute, due);
  }
  return afterCommit(record, {
    at,
    heartbeat,
    dueMinute: record.dueMinute === null || due > record.dueMinute ? due : record.dueMinute,
  });
}

/**
 * What recording activity of a user takes, as writes for one commit: a user already online
 * costs a share of a group commit and no read (the cache knows); a user coming online is a
 * transition whose state, counter, indexes and event commit together, exactly once across
 * instances. `prepare` reads what it must; `done` runs once the writes committed.
 */
export async function prepareActivity(
  ctx: PresenceContext,
  userId: string,
  options: {
    heartbeat: boolean;
    at: number;
    timeout: number;
    fresh?: boolean;
    /** The record as just read from KV (a sign-in reads it with the user). */
    read?: PresenceRecord;
    /** The user is created in the same commit: nothing of theirs can have changed. */
    newUser?: boolean;
  },
): Promise<{ writes: Writes; done(versionstamp: string): PresenceView }> {
  const { at, heartbeat, timeout } = options;
  const cache = ctx.presence.cache;
  const staysOnline = (r: PresenceRecord) =>
    r.state.value?.online === true &&
    isOnline(factsOf(r), { now: at, timeoutMs: timeout, active: true });
  let record = options.read ?? (options.fresh ? null : await cache.get(userId));
  // A transition is decided on what KV says now, never on a cached copy, and read with the
  // account: one suspended since the caller looked (a keep-alive of a socket not closed yet,
  // a heartbeat on a sign-in cached a moment ago) is not brought back online.
  let account: Deno.KvEntryMaybe<User> | null = null;
  if (record === null || (!options.read && !staysOnline(record))) {
    ({ record, user: account } = await cache.freshWithUser(userId));
  }
  const writes = new Writes();
  if (staysOnline(record)) {
    const next = addActivity(writes, { userId, record, at, heartbeat, timeout });
    return {
      writes,
      done() {
        cache.remember(userId, next);
        // Already pending? It fires, sees this activity, and moves itself to seen + timeout.
        ctx.presence.deadlines.ensure(userId, at + timeout);
        return view(userId, { seen: next.seen, state: next.state.value }, true);
      },
    };
  }
  // A suspension landing after this read takes them offline again: its own `takeOffline`
  // comes after it, and is checked against this transition's state.
  if (account?.value && account.value.status !== "active") throw accountDisabled(account.value);
  const events: LiveEvent[] = [];
  if (record.state.value?.online) {
    // Recorded online but silent past the timeout (or a grace), and no sweep noticed yet: the
    // offline transition happened first, at the moment that ran out.
    const wentOffline = Math.min(at, offlineFrom(factsOf(record), timeout));
    events.push(presenceEvent(ctx, userId, false, wentOffline, record.seen));
  }
  events.push(presenceEvent(ctx, userId, true, at, at));
  const state: PresenceState = {
    online: true,
    changedAt: at,
    offlineAt: record.state.value?.offlineAt ?? null,
  };
  const dueMinute = dueMinuteOf(at + timeout);
  addTransition(writes, {
    userId,
    record,
    next: state,
    touch: { userId, at, heartbeat },
    dueMinute,
    checkState: !options.newUser,
  });
  for (const event of events) addEventWrites(writes, event, at);
  return {
    writes,
    done(versionstamp) {
      cache.remember(
        userId,
        afterCommit(record, { at, heartbeat, state: { value: state, versionstamp }, dueMinute }),
      );
      ctx.bus.publish(...events);
      ctx.presence.deadlines.schedule(userId, at + timeout);
      return view(userId, { seen: at, state }, true);
    },
  };
}

/** Records activity of an active user (heartbeat, sign-in, socket) in one (shared) commit. */
export async function recordActivity(
  ctx: PresenceContext,
  userId: string,
  options: { heartbeat: boolean },
): Promise<PresenceView> {
  const timeout = await timeoutMs(ctx);
  return await retry(`record presence of "${userId}"`, async (n) => {
    const at = ctx.clock.now();
    const step = await prepareActivity(ctx, userId, { ...options, at, timeout, fresh: n > 0 });
    const versionstamp = await ctx.commits.commit(step.writes);
    if (!versionstamp) {
      ctx.presence.cache.forget(userId);
      return CONFLICT;
    }
    return step.done(versionstamp);
  });
}

/** The answer of a heartbeat, and when to send the next one: a wire type, shared with the SDK. */
export type { HeartbeatAnswer };

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
    const record = await ctx.presence.cache.fresh(userId);
    const events = record.state.value?.online
      ? [presenceEvent(ctx, userId, false, now, record.seen)]
      : [];
    const state: PresenceState = { online: false, changedAt: now, offlineAt: now };
    const writes = addTransition(new Writes(), { userId, record, next: state });
    for (const event of events) addEventWrites(writes, event, now);
    const versionstamp = await ctx.commits.commit(writes);
    if (!versionstamp) return CONFLICT;
    ctx.presence.cache.remember(userId, {
      ...record,
      state: { key: record.state.key, value: state, versionstamp },
      dueMinute: null,
    });
    ctx.presence.deadlines.cancel(userId);
    ctx.bus.publish(...events);
  });
}

/**
 * Emits the offline transition of a user recorded online who is no longer (silence past the
 * timeout, or a disabled account). Idempotent: run it twice, or on two instances, and the
 * versionstamp checks let exactly one transition through — and activity recorded after the
 * read wins over it. Returns whether it took them offline.
 */
export async function settlePresence(ctx: PresenceContext, userId: string): Promise<boolean> {
  const timeout = await timeoutMs(ctx);
  return await retry(`settle presence of "${userId}"`, async () => {
    const now = ctx.clock.now();
    const [record, user] = await Promise.all([
      ctx.presence.cache.fresh(userId),
      ctx.signIns.user(userId),
    ]);
    if (!record.state.value?.online) return false;
    const active = user?.status === "active";
    if (isOnline(factsOf(record), { now, timeoutMs: timeout, active })) {
      ctx.presence.deadlines.schedule(userId, offlineFrom(factsOf(record), timeout));
      return false;
    }
    const at = active ? Math.min(now, offlineFrom(factsOf(record), timeout)) : now;
    const events = [presenceEvent(ctx, userId, false, at, record.seen)];
    const state: PresenceState = { ...record.state.value, online: false, changedAt: now };
    const writes = addTransition(new Writes(), {
      userId,
      record,
      next: state,
      checkSeen: true,
    });
    for (const event of events) addEventWrites(writes, event, now);
    const versionstamp = await ctx.commits.commit(writes);
    if (!versionstamp) return CONFLICT;
    ctx.presence.cache.remember(userId, {
      ...record,
      state: { key: record.state.key, value: state, versionstamp },
      dueMinute: null,
    });
    ctx.bus.publish(...events);
    return true;
  });
}

/**
 * The durable backstop of the in-process deadlines, run by `Deno.cron` every minute: reads
 * only the sweep entries of minutes that passed — users whose silence ran out, or moved on
 * (their entry is refiled) — never every user online. Returns how many went offline.
 */
export async function sweepPresence(ctx: PresenceContext): Promise<number> {
  const now = ctx.clock.now();
  const timeout = await timeoutMs(ctx);
  let settled = 0;
  for (;;) {
    const due = await listDueUsers(ctx.kv, { upTo: now, limit: SWEEP_PAGE });
    if (due.length === 0) return settled;
    const results = await Promise.all(due.map(async ({ minute, userId }) => {
      const offline = await settlePresence(ctx, userId);
      if (offline) return true;
      // Still online: its entry is refiled where its silence now runs out.
      const record = await ctx.presence.cache.fresh(userId);
      const writes = new Writes();
      if (record.state.value?.online && record.seen !== null) {
        const to = dueMinuteOf(offlineFrom(factsOf(record), timeout));
        addDueDrop(writes, userId, minute, null);
        addDueMove(writes, userId, record.dueMinute === minute ? null : record.dueMinute, to);
      } else {
        addDueDrop(writes, userId, minute, record.dueMinute);
      }
      await ctx.commits.commit(writes);
      ctx.presence.cache.forget(userId);
      return false;
    }));
    settled += results.filter(Boolean).length;
    if (due.length < SWEEP_PAGE) return settled;
  }
}

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
    ctx.signIns.users(userIds),
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
  await Promise.all(users.map(async (userId) => {
    try {
      await recordActivity(ctx, userId, { heartbeat: false });
    } catch (error) {
      // Disabled since the socket opened: the account's event closes it on every instance.
      if (!(error instanceof AppError && error.code === "ACCOUNT_DISABLED")) throw error;
    }
  }));
}

/**
 * A socket closed. Another socket of the user (on any instance) or a recent HTTP heartbeat
 * from another device keeps them online. Otherwise they go offline at the end of the
 * `presence_offline_grace_seconds` (at once when it is 0): a reconnect or heartbeat before
 * then, on any instance, keeps them online with no transition at all. The grace is recorded
 * in KV (the state's `graceUntil`), so whichever instance's deadline or sweep comes first
 * makes the transition.
 */
export async function socketClosed(ctx: PresenceContext, socket: SocketRef): Promise<void> {
  const settings = await ctx.settings.get();
  const timeout = settings.presence_timeout_seconds * 1000;
  const grace = settings.presence_offline_grace_seconds * 1000;
  const { userId } = socket;
  const outcome = await retry(`close a socket of "${userId}"`, async () => {
    const now = ctx.clock.now();
    // Listed again on a retry: a reconnect saves its socket before it records activity.
    const otherSocket = await dropSocket(ctx.kv, {
      userId,
      socketId: socket.socketId,
      freshAfter: now - timeout,
    });
    if (otherSocket) return "kept";
    const record = await ctx.presence.cache.fresh(userId);
    if (record.heartbeat !== null && now - record.heartbeat < timeout) return "kept";
    const online = record.state.value?.online === true &&
      isOnline(factsOf(record), { now, timeoutMs: timeout, active: true });
    if (grace === 0 || !online) return "offline";
    const state: PresenceState = {
      ...record.state.value!,
      offlineAt: now,
      graceUntil: now + grace,
    };
    const until = offlineFrom({ seen: record.seen, state }, timeout);
    const dueMinute = dueMinuteOf(until);
    // No transition yet: the state's versionstamp and `seen` guard it, so activity since the
    // read is seen on the retry.
    const writes = addTransition(new Writes(), {
      userId,
      record,
      next: state,
      dueMinute,
      checkSeen: true,
    });
    const versionstamp = await ctx.commits.commit(writes);
    if (!versionstamp) return CONFLICT;
    ctx.presence.cache.remember(userId, {
      ...record,
      state: { key: record.state.key, value: state, versionstamp },
      dueMinute,
    });
    ctx.presence.deadlines.schedule(userId, until);
    return "deferred";
  });
  if (outcome === "offline") await takeOffline(ctx, userId);
}
