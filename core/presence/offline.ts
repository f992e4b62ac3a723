import {
  addTransition,
  dropSocket,
  dueMinuteOf,
  type PresenceRecord,
  type PresenceState,
} from "../../kv/presence.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { listSessionsOfUser } from "../../kv/sessions.ts";
import { Writes } from "../../kv/writes.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import type { PresenceContext, SocketRef } from "./context.ts";
import { factsOf, isOnline, offlineFrom, presenceEvent, timeoutMs } from "./status.ts";

/**
 * Commits a change of a user's presence state (with its events and sweep entry, guarded by
 * the state's versionstamp, and with `checkSeen` by their last activity too), then remembers
 * the record as it now is and tells the events. False when the commit was refused.
 */
async function commitTransition(
  ctx: PresenceContext,
  change: {
    userId: string;
    record: PresenceRecord;
    state: PresenceState;
    events: LiveEvent[];
    at: number;
    /** Where its sweep entry goes; none (offline for good) when not given. */
    dueMinute?: number;
    checkSeen?: boolean;
  },
): Promise<boolean> {
  const { userId, record, state, events, at, dueMinute, checkSeen } = change;
  const writes = addTransition(new Writes(), {
    userId,
    record,
    next: state,
    dueMinute,
    checkSeen,
  });
  for (const event of events) addEventWrites(writes, event, at);
  const versionstamp = await ctx.commits.commit(writes);
  if (!versionstamp) return false;
  ctx.presence.cache.remember(userId, {
    ...record,
    state: { key: record.state.key, value: state, versionstamp },
    dueMinute: dueMinute ?? null,
  });
  ctx.bus.publish(...events);
  return true;
}

/*
 * Going offline: on purpose (logout, last socket closed, account disabled), or when silence
 * ran out (settled by a deadline or the sweep), each a transition committed exactly once.
 */

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
    if (!await commitTransition(ctx, { userId, record, state, events, at: now })) return CONFLICT;
    ctx.presence.deadlines.cancel(userId);
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
      ctx.sessionCache.user(userId),
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
    const committed = await commitTransition(ctx, {
      userId,
      record,
      state,
      events,
      at: now,
      checkSeen: true,
    });
    return committed ? true : CONFLICT;
  });
}

/** After a logout: offline unless another sign-in of the user is still open. */
export async function afterSignOut(ctx: PresenceContext, userId: string): Promise<void> {
  const families = await listSessionsOfUser(ctx.kv, userId, ctx.clock.now());
  if (families.length === 0) await takeOffline(ctx, userId);
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
    const committed = await commitTransition(ctx, {
      userId,
      record,
      state,
      events: [],
      at: now,
      dueMinute,
      checkSeen: true,
    });
    if (!committed) return CONFLICT;
    ctx.presence.deadlines.schedule(userId, until);
    return "deferred";
  });
  if (outcome === "offline") await takeOffline(ctx, userId);
}
