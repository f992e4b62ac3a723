import { keys } from "./keys.ts";
import { CONFLICT, retry } from "./retry.ts";
import type { StoredEvent } from "./stored_event.ts";
import { decodeTime, encodeTime } from "./ulid_time.ts";

/**
 * The event log (`events`) and its per-user index (`events_by_user`). A commit's events share
 * entries: up to 16 in one, stored under the largest id among them, so an entry holds only
 * events at or below its key and a newest-first read knows exactly when to stop. Each user an
 * entry names gets one entry of their own events under the same id: an erasure finds the log
 * entry to rewrite by one read. Entries written before the log was batched hold one event
 * under its own id, which is the same rule; every reader takes both.
 */

/** How long the event log keeps an event. */
export const EVENT_LOG_TTL_MS = 24 * 3_600_000;
/** Events one log entry holds at most. */
export const EVENTS_PER_LOG_ENTRY = 16;
/**
 * The ids of one log entry lie within this many ms of each other (their ULID times): an entry
 * keyed by `k` holds nothing below `k`'s time less this, so a reader by ascending id (or one
 * starting below a cursor) knows where to stop and start. A commit's events are made within a
 * moment of each other; one made long before its commit gets an entry of its own.
 */
export const EVENT_ENTRY_SPAN_MS = 1_000;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The ms an event id (a ULID) was made at, or null for an id that is not one. */
export function idTime(id: string): number | null {
  return ULID.test(id) ? decodeTime(id) : null;
}

/** The lowest id of the ms `ms` (every ULID of that ms sorts at or above it). */
export function lowestIdAt(ms: number): string {
  return encodeTime(ms) + "0".repeat(16);
}

/** The events a log entry holds: a list, or one event (an entry of before the batching). */
export function eventsOf(value: unknown): StoredEvent[] {
  if (Array.isArray(value)) return value as StoredEvent[];
  return value ? [value as StoredEvent] : [];
}

/** The user an event names (`data.user_id`), if any: it is filed under them too. */
export function userOf(event: StoredEvent): string | null {
  const userId = event.data.user_id;
  return typeof userId === "string" && userId.length > 0 ? userId : null;
}

/**
 * Adds a commit's events to the log: ordered by id, `perEntry` to an entry at most (ids within
 * `EVENT_ENTRY_SPAN_MS`), each under its largest id, and per entry one entry for each user it
 * names under the same id. Returns the mutations added.
 */
export function addLogEntries(
  op: Pick<Deno.AtomicOperation, "set">,
  events: readonly StoredEvent[],
  perEntry = EVENTS_PER_LOG_ENTRY,
): number {
  const sorted = [...events].sort(ascending);
  let used = 0;
  let chunk: StoredEvent[] = [];
  const flush = () => {
    if (chunk.length === 0) return;
    const id = chunk[chunk.length - 1].id;
    op.set(keys.event(id), chunk, { expireIn: EVENT_LOG_TTL_MS });
    used++;
    const byUser = new Map<string, StoredEvent[]>();
    for (const event of chunk) {
      const userId = userOf(event);
      if (!userId) continue;
      const own = byUser.get(userId);
      if (own) own.push(event);
      else byUser.set(userId, [event]);
    }
    for (const [userId, own] of byUser) {
      op.set(keys.userEvent(userId, id), own, { expireIn: EVENT_LOG_TTL_MS });
      used++;
    }
    chunk = [];
  };
  for (const event of sorted) {
    if (chunk.length > 0 && !joins(chunk, event, perEntry)) flush();
    chunk.push(event);
  }
  flush();
  return used;
}

function joins(chunk: StoredEvent[], event: StoredEvent, perEntry: number): boolean {
  if (chunk.length >= perEntry) return false;
  const first = idTime(chunk[0].id);
  const time = idTime(event.id);
  return first !== null && time !== null && time - first <= EVENT_ENTRY_SPAN_MS;
}

/** The lowest id an entry keyed `key` (or any keyed above it) may hold. */
function lowestIn(key: string): string {
  const time = idTime(key);
  return time === null ? key : lowestIdAt(time - EVENT_ENTRY_SPAN_MS);
}

function ascending(a: StoredEvent, b: StoredEvent): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function descending(a: StoredEvent, b: StoredEvent): number {
  return ascending(b, a);
}

/** Entries to read a batch: a new entry holds several events, an old one one. */
function batchOf(limit: number): number {
  return Math.min(500, Math.max(2, Math.ceil(limit / 4) + 1));
}

/**
 * The newest `limit` events of entries listed newest key first, that `wanted` takes. Exact:
 * an entry holds only ids at or below its key, so once `limit` are found and the next key is
 * below the `limit`-th, nothing later can be newer.
 */
async function newest(
  entries: Deno.KvListIterator<unknown>,
  limit: number,
  wanted: (event: StoredEvent) => boolean,
): Promise<StoredEvent[]> {
  if (limit <= 0) return [];
  let found: StoredEvent[] = [];
  const seen = new Set<string>();
  for await (const entry of entries) {
    const key = String(entry.key[entry.key.length - 1]);
    if (found.length >= limit) {
      found = found.sort(descending).slice(0, limit);
      if (key < found[limit - 1].id) break;
    }
    for (const event of eventsOf(entry.value)) {
      if (wanted(event) && !seen.has(event.id)) {
        seen.add(event.id);
        found.push(event);
      }
    }
  }
  return found.sort(descending).slice(0, limit);
}

/**
 * The newest `limit` events, newest first; with `before`, those older than that event id. An
 * entry keyed above `before` may hold older events, up to `EVENT_ENTRY_SPAN_MS` above it.
 */
export async function listRecentEvents(
  kv: Deno.Kv,
  limit = 100,
  before?: string,
): Promise<StoredEvent[]> {
  const time = before === undefined ? null : idTime(before);
  // A cursor that is no ULID bounds nothing: the whole log is read (exact, only slower).
  const selector = time === null
    ? { prefix: keys.events() }
    : { prefix: keys.events(), end: keys.event(lowestIdAt(time + EVENT_ENTRY_SPAN_MS + 1)) };
  const entries = kv.list(selector, { reverse: true, batchSize: batchOf(limit) });
  return await newest(entries, limit, (event) => before === undefined || event.id < before);
}

/** A user's newest `limit` events, newest first (`expireIn` is a lower bound: some may linger). */
export async function listUserEvents(
  kv: Deno.Kv,
  userId: string,
  limit: number,
): Promise<StoredEvent[]> {
  const entries = kv.list({ prefix: keys.userEvents(userId) }, {
    reverse: true,
    batchSize: batchOf(limit),
  });
  return await newest(entries, limit, () => true);
}

/**
 * Events with ids above `afterId` (exclusive), oldest first, at most `limit`. Exact as far as
 * the log goes: reading stops once the next entry cannot hold an id below the `limit`-th
 * (`EVENT_ENTRY_SPAN_MS`). (An event committed after this read with an id below the ones
 * read, as a slow commit elsewhere may, is not among them: as before the log was batched.)
 */
export async function listEventsAfter(
  kv: Deno.Kv,
  afterId: string,
  limit = 500,
): Promise<StoredEvent[]> {
  if (limit <= 0) return [];
  let found: StoredEvent[] = [];
  const seen = new Set<string>();
  const entries = kv.list(
    { start: [...keys.events(), `${afterId}\u0000`], end: [...keys.events(), "\uffff"] },
    { batchSize: batchOf(limit) },
  );
  for await (const entry of entries) {
    const key = String(entry.key[1]);
    if (found.length >= limit) {
      found = found.sort(ascending).slice(0, limit);
      if (lowestIn(key) > found[limit - 1].id) break;
    }
    for (const event of eventsOf(entry.value)) {
      if (event.id > afterId && !seen.has(event.id)) {
        seen.add(event.id);
        found.push(event);
      }
    }
  }
  return found.sort(ascending).slice(0, limit);
}

/**
 * Every event of the log, newest first, read in batches as the caller goes. Entries still to
 * read hold ids at or below the key just read, so every event above it goes out in order.
 */
export async function* eachEvent(kv: Deno.Kv): AsyncGenerator<StoredEvent> {
  let held: StoredEvent[] = [];
  for await (const entry of kv.list({ prefix: keys.events() }, { reverse: true, batchSize: 500 })) {
    const key = String(entry.key[1]);
    held.sort(descending);
    let ready = 0;
    while (ready < held.length && held[ready].id > key) ready++;
    yield* held.slice(0, ready);
    held = held.slice(ready);
    held.push(...eventsOf(entry.value));
  }
  yield* held.sort(descending);
}

/**
 * Takes a user's events out of the log entries under `logIds` (those `keep` says stay, stay):
 * an entry left empty is deleted, one with others' events rewritten (checked, retried) with
 * the time it had left. Safe to run again.
 */
export async function eraseUserFromLog(
  kv: Deno.Kv,
  userId: string,
  logIds: string[],
  keep: (event: StoredEvent) => boolean,
  now: number,
): Promise<void> {
  const ids = [...new Set(logIds)];
  // At most 10 checks a commit (KV Connect's cap).
  for (let i = 0; i < ids.length; i += 10) {
    const group = ids.slice(i, i + 10).map((id) => keys.event(id));
    await retry(`erase the logged events of "${userId}"`, async () => {
      const op = kv.atomic();
      let changed = false;
      for (const entry of await kv.getMany(group)) {
        if (entry.versionstamp === null) continue;
        const events = eventsOf(entry.value);
        const left = events.filter((event) => userOf(event) !== userId || keep(event));
        if (left.length === events.length) continue;
        changed = true;
        op.check(entry);
        if (left.length === 0) op.delete(entry.key);
        else op.set(entry.key, left, { expireIn: timeLeft(String(entry.key[1]), now) });
      }
      if (!changed) return true;
      return (await op.commit()).ok ? true : CONFLICT;
    });
  }
}

/** What is left of the 24 h of a log entry keyed `id` (written when its newest event was made). */
function timeLeft(id: string, now: number): number {
  const time = idTime(id);
  if (time === null) return EVENT_LOG_TTL_MS;
  return Math.min(EVENT_LOG_TTL_MS, Math.max(1, time + EVENT_LOG_TTL_MS - now));
}
