import { keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";
import { withCursor } from "./cursor.ts";
import { addStatCounts } from "./stats.ts";
import type { AtomicWrites, Writes } from "./writes.ts";

/** The last presence transition recorded for a user. */
export interface PresenceState {
  online: boolean;
  changedAt: number;
  /** When the user was last taken offline on purpose (logout, last socket, suspension). */
  offlineAt: number | null;
  /**
   * Set when a last socket closed: `offlineAt` takes effect only from this moment, so activity
   * before it (a reconnect, a heartbeat) keeps the user online without any transition.
   */
  graceUntil?: number;
}

/** What is stored about one user's presence. */
export interface PresenceRecord {
  /** Last activity of any kind, ms. */
  seen: number | null;
  /** The entry behind `seen`: the sweep's commit checks it, so activity wins a race. */
  seenEntry: Deno.KvEntryMaybe<Deno.KvU64>;
  /** Last HTTP heartbeat or sign-in, ms. */
  heartbeat: number | null;
  state: Deno.KvEntryMaybe<PresenceState>;
  /** The minute the user's `presence_due` entry is filed under, if any. */
  dueMinute: number | null;
  /** `seen` as an ISO string, worked out once per record by whoever needs it first. */
  seenIso?: string | null;
  /** The record's entry in a presence answer, as JSON text, online and offline: the same. */
  json?: { online?: string; offline?: string };
}

/** One activity to record: `heartbeat` also raises the HTTP heartbeat time. */
export interface Touch {
  userId: string;
  at: number;
  heartbeat: boolean;
}

// Adding 2^64 - 1 to a `KvU64` wraps around: it is how a counter goes down.
const MINUS_ONE = 0xffff_ffff_ffff_ffffn;
// getMany reads at most 10 keys at a time.
const GET_MANY_LIMIT = 10;
const MINUTE_MS = 60_000;

function toNumber(value: unknown): number | null {
  return value instanceof Deno.KvU64 ? Number(value.value) : null;
}

/** The minute (ms) a deadline is filed under: rounded up, so the sweep is never early. */
export function dueMinuteOf(deadline: number): number {
  return Math.ceil(deadline / MINUTE_MS) * MINUTE_MS;
}

/** The four keys a user's presence record is read from (in `presenceRecordOf`'s order). */
export function presenceKeysOf(userId: string): Deno.KvKey[] {
  return [
    keys.presenceSeen(userId),
    keys.presenceHeartbeat(userId),
    keys.presenceState(userId),
    keys.presenceDueOf(userId),
  ];
}

/** The record read from `presenceKeysOf`'s entries (so a caller can read more at once). */
export function presenceRecordOf(entries: Deno.KvEntryMaybe<unknown>[]): PresenceRecord {
  const [seen, heartbeat, state, due] = entries;
  return {
    seen: toNumber(seen.value),
    seenEntry: seen as Deno.KvEntryMaybe<Deno.KvU64>,
    heartbeat: toNumber(heartbeat.value),
    state: state as Deno.KvEntryMaybe<PresenceState>,
    dueMinute: (due.value as number | null) ?? null,
  };
}

/** The record of a user created just now: nothing stored yet. */
export function emptyPresenceRecord(userId: string): PresenceRecord {
  return presenceRecordOf(
    presenceKeysOf(userId).map((key) => ({ key, value: null, versionstamp: null })),
  );
}

/** Reads one user's presence. */
export async function readPresence(kv: Deno.Kv, userId: string): Promise<PresenceRecord> {
  return presenceRecordOf(await kv.getMany(presenceKeysOf(userId)));
}

/** Reads the presence of many users, in parallel batches of `getMany`. */
export async function readPresenceMany(
  kv: Deno.Kv,
  userIds: string[],
): Promise<Map<string, PresenceRecord>> {
  const perBatch = Math.floor(GET_MANY_LIMIT / 4);
  const batches: string[][] = [];
  for (let i = 0; i < userIds.length; i += perBatch) batches.push(userIds.slice(i, i + perBatch));
  const out = new Map<string, PresenceRecord>();
  await Promise.all(batches.map(async (batch) => {
    const entries = await kv.getMany(batch.flatMap(presenceKeysOf));
    batch.forEach((id, i) => out.set(id, presenceRecordOf(entries.slice(i * 4, i * 4 + 4))));
  }));
  return out;
}

/** Adds activity writes: `max` mutations never conflict and never go back. */
export function addTouch<W extends AtomicWrites>(w: W, touch: Touch): W {
  const at = BigInt(Math.max(0, Math.floor(touch.at)));
  w.max(keys.presenceSeen(touch.userId), at);
  if (touch.heartbeat) w.max(keys.presenceHeartbeat(touch.userId), at);
  return w;
}

/** Files a user's sweep entry under `to`, dropping the one under `from` (if different). */
export function addDueMove<W extends AtomicWrites>(
  w: W,
  userId: string,
  from: number | null,
  to: number,
): W {
  if (from !== null && from !== to) w.delete(keys.presenceDue(from, userId));
  if (from !== to) {
    w.set(keys.presenceDue(to, userId), true).set(keys.presenceDueOf(userId), to);
  }
  return w;
}

/** Drops a user's sweep entry under `minute` (and the pointer to it, when it points there). */
export function addDueDrop<W extends AtomicWrites>(
  w: W,
  userId: string,
  minute: number,
  pointer: number | null,
): W {
  w.delete(keys.presenceDue(minute, userId));
  if (pointer === minute) w.delete(keys.presenceDueOf(userId));
  return w;
}

/**
 * Adds a transition, guarded by the state's versionstamp so each one happens once however
 * many instances notice it: the state, the online index, the online counter and the sweep
 * entry move together (callers add the transition's events to the same commit). `touch`
 * records the activity that caused an online transition; `seen` (an offline transition for
 * silence) makes any activity since it was read win instead.
 */
export function addTransition(
  w: Writes,
  options: {
    userId: string;
    record: PresenceRecord;
    next: PresenceState;
    touch?: Touch;
    /** Where the sweep entry goes when online (the minute the silence would run out). */
    dueMinute?: number;
    checkSeen?: boolean;
    /** False only for a user created in the same commit: no other writer can know the id. */
    checkState?: boolean;
  },
): Writes {
  const { userId, record, next } = options;
  const wasOnline = record.state.value?.online === true;
  if (options.checkState ?? true) w.check(record.state);
  w.set(keys.presenceState(userId), next);
  if (options.checkSeen) w.check(record.seenEntry);
  // Each move of the counter is also counted in its minute (callers set `changedAt` to the
  // commit time), so the admin stats can work out how many were online at any past minute.
  if (next.online && !wasOnline) {
    w.set(keys.presenceOnline(userId), true).sum(keys.onlineCount(), 1n);
    addStatCounts(w, next.changedAt, ["went_online"]);
  } else if (!next.online && wasOnline) {
    w.delete(keys.presenceOnline(userId)).sum(keys.onlineCount(), MINUS_ONE);
    addStatCounts(w, next.changedAt, ["went_offline"]);
  }
  if (next.online && options.dueMinute !== undefined) {
    addDueMove(w, userId, record.dueMinute, options.dueMinute);
  } else if (!next.online && record.dueMinute !== null) {
    addDueDrop(w, userId, record.dueMinute, record.dueMinute);
  }
  if (options.touch) addTouch(w, options.touch);
  return w;
}

/** Sweep entries filed under minutes up to `upTo` (included), oldest first. */
export async function listDueUsers(
  kv: Deno.Kv,
  options: { upTo: number; limit: number },
): Promise<{ minute: number; userId: string }[]> {
  const out: { minute: number; userId: string }[] = [];
  const iterator = kv.list({
    start: keys.presenceDueAll(),
    end: keys.presenceDueBefore(options.upTo + 1),
  }, { limit: options.limit });
  for await (const entry of iterator) {
    out.push({ minute: entry.key[1] as number, userId: String(entry.key[2]) });
  }
  return out;
}

/** Ids of users recorded online, a page at a time. */
export async function listOnlineUserIds(
  kv: Deno.Kv,
  options: { cursor?: string; limit?: number; reverse?: boolean } = {},
): Promise<{ ids: string[]; cursor: string | null }> {
  const iterator = kv.list({ prefix: keys.presenceOnlineAll() }, {
    cursor: options.cursor,
    limit: options.limit ?? 500,
    reverse: options.reverse ?? false,
  });
  const ids: string[] = [];
  await withCursor(async () => {
    for await (const entry of iterator) ids.push(String(entry.key[1]));
  });
  const cursor = iterator.cursor;
  return { ids, cursor: ids.length === (options.limit ?? 500) && cursor ? cursor : null };
}

/** How many users are recorded online. */
export async function readOnlineCount(kv: Deno.Kv): Promise<number> {
  return toNumber((await kv.get(keys.onlineCount())).value) ?? 0;
}

/** Marks sockets open (refreshed while they stay open), in commits of at most 500. */
export async function saveSockets(
  kv: Deno.Kv,
  options: {
    sockets: { userId: string; socketId: string }[];
    instance: string;
    at: number;
    ttlMs: number;
  },
): Promise<void> {
  const { instance, at, ttlMs } = options;
  for (let i = 0; i < options.sockets.length; i += 500) {
    const batch = options.sockets.slice(i, i + 500);
    await commitUnchecked("record open sockets", () => {
      const op = kv.atomic();
      for (const socket of batch) {
        op.set(keys.presenceSocket(socket.userId, socket.socketId), { instance, at }, {
          expireIn: ttlMs,
        });
      }
      return op;
    });
  }
}

/** Forgets a closed socket and says whether the user has another one refreshed since `freshAfter`. */
export async function dropSocket(
  kv: Deno.Kv,
  options: { userId: string; socketId: string; freshAfter: number },
): Promise<boolean> {
  await commitUnchecked(
    "forget a socket",
    () => kv.atomic().delete(keys.presenceSocket(options.userId, options.socketId)),
  );
  for await (
    const entry of kv.list<{ at: number }>({ prefix: keys.presenceSocketsOf(options.userId) })
  ) {
    if (entry.value.at > options.freshAfter) return true;
  }
  return false;
}
