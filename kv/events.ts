import { userOf } from "./event_log.ts";
import { keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";
import type { StoredEvent } from "./stored_event.ts";
import { keyId, type Writes } from "./writes.ts";

export {
  eachEvent,
  EVENT_LOG_TTL_MS,
  listEventsAfter,
  listRecentEvents,
  listUserEvents,
} from "./event_log.ts";
/** How long an instance's ordered events stay for the others to tail. */
export const INSTANCE_EVENTS_TTL_MS = 3_600_000;

export type { StoredEvent };

/**
 * Adds an event to a commit, so it is logged exactly when its change commits: the group
 * committer writes a commit's events into the log together, up to 16 in one entry
 * (kv/event_log.ts), and files them under its instance's next position, in commit order. An
 * event that names a user (`user_id`) is filed under that user too, so a user's recent events
 * are one short list read, never a scan of the log.
 */
export function addEvent(w: Writes, event: StoredEvent): Writes {
  // The log's keys count as if the event had entries of its own (as a lone commit files it).
  w.keyBytes += keyId(keys.event(event.id)).length;
  const userId = userOf(event);
  if (userId) w.keyBytes += keyId(keys.userEvent(userId, event.id)).length;
  w.logged.push(event);
  return w;
}

/**
 * Events one ordered entry holds at most: a commit's events share entries, one mutation for up
 * to this many rather than one each. (Events are about a kilobyte: far below KV's 64 KiB per
 * value. A commit refused as too large anyway is retried with one event an entry.)
 */
export const EVENTS_PER_INSTANCE_ENTRY = 16;

/**
 * Adds the ordered copy of a commit's events, `perEntry` to an entry, at the instance's
 * positions from `position` on. Returns how many positions it used.
 */
export function addInstanceEvents(
  op: Deno.AtomicOperation,
  instance: string,
  position: number,
  events: StoredEvent[],
  perEntry = EVENTS_PER_INSTANCE_ENTRY,
): number {
  let used = 0;
  for (let at = 0; at < events.length; at += perEntry) {
    op.set(keys.instanceEvent(instance, position + used++), events.slice(at, at + perEntry), {
      expireIn: INSTANCE_EVENTS_TTL_MS,
    });
  }
  return used;
}

/**
 * An instance's entries after `position` (exclusive), in commit order, with their positions
 * and events. (An entry written before entries held lists is one event.)
 */
export async function listInstanceEvents(
  kv: Deno.Kv,
  instance: string,
  options: { after: number; limit: number },
): Promise<{ position: number; events: StoredEvent[] }[]> {
  const out: { position: number; events: StoredEvent[] }[] = [];
  const iterator = kv.list<StoredEvent[] | StoredEvent>({
    start: keys.instanceEvent(instance, options.after + 1),
    end: [...keys.instanceEvents(instance), Number.MAX_SAFE_INTEGER],
  }, { limit: options.limit });
  for await (const entry of iterator) {
    const events = Array.isArray(entry.value) ? entry.value : [entry.value];
    out.push({ position: entry.key[2] as number, events });
  }
  return out;
}

/**
 * The position to follow an instance from so that its events logged since `since` (ms) are
 * read: the newest entry older than that, found from the newest back (at most `limit` entries;
 * -1 when it has none older).
 */
export async function instancePositionBefore(
  kv: Deno.Kv,
  instance: string,
  since: number,
  limit = 5_000,
): Promise<number> {
  let oldest = -1;
  const iterator = kv.list<StoredEvent[] | StoredEvent>(
    { prefix: keys.instanceEvents(instance) },
    { limit, reverse: true, batchSize: 500 },
  );
  for await (const entry of iterator) {
    const position = entry.key[2] as number;
    const first = Array.isArray(entry.value) ? entry.value[0] : entry.value;
    if (first && Date.parse(first.data.at) < since) return position;
    oldest = position - 1;
  }
  return oldest;
}

/** A running instance: when it started and when it last said so. */
export interface InstanceRecord {
  startedAt: number;
  seenAt: number;
}

/** Records that an instance runs (until `ttlMs` after this, unless refreshed). */
export async function saveInstance(
  kv: Deno.Kv,
  id: string,
  record: InstanceRecord,
  ttlMs: number,
): Promise<void> {
  await commitUnchecked(
    "record a running instance",
    () => kv.atomic().set(keys.instance(id), record, { expireIn: ttlMs }),
  );
}

/** Forgets an instance that stopped. */
export async function dropInstance(kv: Deno.Kv, id: string): Promise<void> {
  await commitUnchecked("forget a stopped instance", () => kv.atomic().delete(keys.instance(id)));
}

/** Every instance recorded as running, with its record. */
export async function listInstances(kv: Deno.Kv): Promise<Map<string, InstanceRecord>> {
  const out = new Map<string, InstanceRecord>();
  for await (const entry of kv.list<InstanceRecord>({ prefix: keys.instances() })) {
    out.set(String(entry.key[1]), entry.value);
  }
  return out;
}
