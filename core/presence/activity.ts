import type { HeartbeatAnswer } from "../../contract/api.ts";
import {
  addDueMove,
  addTouch,
  addTransition,
  dueMinuteOf,
  type PresenceRecord,
  type PresenceState,
  saveSockets,
} from "../../kv/presence.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import type { User } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError } from "../errors.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import { accountDisabled } from "../users.ts";
import type { PresenceContext, PresenceView, SocketRef } from "./context.ts";
import {
  afterCommit,
  factsOf,
  isOnline,
  offlineFrom,
  presenceEvent,
  timeoutMs,
  view,
} from "./status.ts";

/*
 * Activity keeps a user online: heartbeats, sign-ins and open sockets. A user already online
 * costs a share of a group commit and no read; one coming online is a transition.
 */

/**
 * Adds the writes of activity by a user recorded online to `w`: the activity itself, and the
 * sweep entry moved to the minute the new silence would run out (once a minute at most).
 * Returns the record as it will be once `w` commits.
 */
export function addActivity(
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
  // Erased since the caller authenticated: nothing of theirs is written again.
  if (account && account.value === null && !options.newUser) {
    throw new AppError("UNAUTHORIZED", "This account no longer exists.");
  }
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
      // Disabled or erased since the socket opened: the account's event closes it everywhere.
      const gone = error instanceof AppError &&
        (error.code === "ACCOUNT_DISABLED" || error.code === "UNAUTHORIZED");
      if (!gone) throw error;
    }
  }));
}
