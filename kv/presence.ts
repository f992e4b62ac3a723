import { addEvent, type StoredEvent } from "./events.ts";
import { keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";
import { addStatCounts } from "./stats.ts";

/** The last presence transition recorded for a user. */
export interface PresenceState {
  online: boolean;
  changedAt: number;
  /** When the user was last taken offline on purpose (logout, last socket, suspension). */
  offlineAt: number | null;
}

/** What is stored about one user's presence. */
export interface PresenceRecord {
  /** Last activity of any kind, ms. */
  seen: number | null;
  /** Last HTTP heartbeat or sign-in, ms. */
  heartbeat: number | null;
  state: Deno.KvEntryMaybe<PresenceState>;
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

function toNumber(value: unknown): number | null {
  return value instanceof Deno.KvU64 ? Number(value.value) : null;
}

/** Reads one user's presence. */
export async function readPresence(kv: Deno.Kv, userId: string): Promise<PresenceRecord> {
  const [seen, heartbeat, state] = await kv.getMany<[Deno.KvU64, Deno.KvU64, PresenceState]>([
    keys.presenceSeen(userId),
    keys.presenceHeartbeat(userId),
    keys.presenceState(userId),
  ]);
  return { seen: toNumber(seen.value), heartbeat: toNumber(heartbeat.value), state };
}

/** Reads the last activity and state of many users, in parallel batches. */
export async function readPresenceMany(
  kv: Deno.Kv,
  userIds: string[],
): Promise<Map<string, { seen: number | null; state: PresenceState | null }>> {
  const perBatch = Math.floor(GET_MANY_LIMIT / 2);
  const batches: string[][] = [];
  for (let i = 0; i < userIds.length; i += perBatch) batches.push(userIds.slice(i, i + perBatch));
  const out = new Map<string, { seen: number | null; state: PresenceState | null }>();
  await Promise.all(batches.map(async (batch) => {
    const entries = await kv.getMany(
      batch.flatMap((id) => [keys.presenceSeen(id), keys.presenceState(id)]),
    );
    batch.forEach((id, i) => {
      out.set(id, {
        seen: toNumber(entries[i * 2].value),
        state: (entries[i * 2 + 1].value as PresenceState | null) ?? null,
      });
    });
  }));
  return out;
}

/** Adds activity writes to an operation: `max` mutations never conflict and never go back. */
export function addTouch(op: Deno.AtomicOperation, touch: Touch): Deno.AtomicOperation {
  const at = BigInt(Math.max(0, Math.floor(touch.at)));
  op.max(keys.presenceSeen(touch.userId), at);
  if (touch.heartbeat) op.max(keys.presenceHeartbeat(touch.userId), at);
  return op;
}

/** Records many activities in one commit (group commit of heartbeats). */
export async function touchMany(kv: Deno.Kv, touches: Touch[]): Promise<void> {
  await commitUnchecked("record activity", () => {
    const op = kv.atomic();
    for (const touch of touches) addTouch(op, touch);
    return op;
  });
}

/**
 * Records a transition, guarded by the state's versionstamp so each one happens once however
 * many instances notice it: the state, the online index, the online counter and the events
 * move together. `touch` records the activity that caused an online transition.
 */
export async function commitTransition(
  kv: Deno.Kv,
  options: {
    userId: string;
    state: Deno.KvEntryMaybe<PresenceState>;
    next: PresenceState;
    events: StoredEvent[];
    touch?: Touch;
  },
): Promise<boolean> {
  const { userId, state, next } = options;
  const wasOnline = state.value?.online === true;
  const op = kv.atomic().check(state).set(keys.presenceState(userId), next);
  // Each move of the counter is also counted in its minute (callers set `changedAt` to the
  // commit time), so the admin stats can work out how many were online at any past minute.
  if (next.online && !wasOnline) {
    op.set(keys.presenceOnline(userId), true).sum(keys.onlineCount(), 1n);
    addStatCounts(op, next.changedAt, ["went_online"]);
  } else if (!next.online && wasOnline) {
    op.delete(keys.presenceOnline(userId)).sum(keys.onlineCount(), MINUS_ONE);
    addStatCounts(op, next.changedAt, ["went_offline"]);
  }
  if (options.touch) addTouch(op, options.touch);
  for (const event of options.events) addEvent(op, event);
  return (await op.commit()).ok;
}

/** Ids of users recorded online, a page at a time. */
export async function listOnlineUserIds(
  kv: Deno.Kv,
  options: { cursor?: string; limit?: number } = {},
): Promise<{ ids: string[]; cursor: string | null }> {
  const iterator = kv.list({ prefix: keys.presenceOnlineAll() }, {
    cursor: options.cursor,
    limit: options.limit ?? 500,
  });
  const ids: string[] = [];
  for await (const entry of iterator) ids.push(String(entry.key[1]));
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
