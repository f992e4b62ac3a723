import { keys } from "./keys.ts";
import type { StoredEvent } from "./stored_event.ts";
import type { AtomicWrites } from "./writes.ts";

const HOUR_MS = 3_600_000;
const MINUS_ONE = 0xffff_ffff_ffff_ffffn;
/**
 * An entry outlives its last write by this much: tries stop 24 h after the event, so only an
 * outbox nobody runs any more (the webhook turned off) is left to expire.
 */
const KEEP_MS = 48 * HOUR_MS;
// Deleted per commit when pruning; far below KV's mutation limit.
const DELETE_BATCH = 100;

/** What the receiver gets: the event's id, type, time and the rest of its fields. */
export interface OutboundEvent {
  id: string;
  type: string;
  at: string;
  data: Record<string, unknown>;
}

/** An event waiting in the outbox, and how its delivery is going. */
export interface OutboxEntry {
  event: OutboundEvent;
  /** When the event was made (ms): tries stop 24 h after. */
  createdAt: number;
  /** When it is next due (ms): a lease or a retry moves it forward. */
  dueAt: number;
  /** Tries so far. */
  attempts: number;
  /** The instance whose lease runs until `dueAt`, or null. */
  leasedBy: string | null;
  lastError: string | null;
}

/** An entry as read or written, with the versionstamp a claim on it checks. */
export interface HeldEntry {
  entry: OutboxEntry;
  versionstamp: string;
}

/**
 * Where the group committer sends logged events that go out by webhook: asked per event
 * before the commit (so an event that does not go out costs nothing), told after it.
 */
export interface Outbox {
  /** The outbox entry of an event, or null when it does not go out. */
  entryFor(event: StoredEvent): OutboxEntry | null;
  /** The entries of a commit that is now durable, with its versionstamp. */
  committed(held: HeldEntry[]): void;
}

/** The last delivery that failed. */
export interface WebhookError {
  at: number;
  error: string;
}

/** What the admin status shows, read without scanning the outbox. */
export interface WebhookTotals {
  pending: number;
  delivered: number;
  failed: number;
  lastSuccessAt: number | null;
  lastError: WebhookError | null;
}

function keyOf(entry: OutboxEntry): Deno.KvKey {
  return keys.webhookOutbox(entry.dueAt, entry.event.id);
}

/** Adds new entries to a commit (the one that logs their events), and counts them pending. */
export function addOutboxEntries<W extends AtomicWrites>(op: W, entries: OutboxEntry[]): W {
  for (const entry of entries) op.set(keyOf(entry), entry, { expireIn: KEEP_MS });
  if (entries.length > 0) op.sum(keys.webhookPending(), BigInt(entries.length));
  return op;
}

/**
 * Moves a held entry to `next` (a lease, or the time of its next try), only if nobody moved
 * or finished it since it was read: two instances never both win one entry.
 */
export function addMove<W extends AtomicWrites>(op: W, held: HeldEntry, next: OutboxEntry): W {
  return addTake(op, held).set(keyOf(next), next, { expireIn: KEEP_MS });
}

/** Records a retry's failure: the entry moves to its next try and the error is kept. */
export function addRetry<W extends AtomicWrites>(
  op: W,
  held: HeldEntry,
  next: OutboxEntry,
  failure: WebhookError,
): W {
  return addMove(op, held, next).set(keys.webhookLast("error"), failure);
}

/** Records a delivery: the entry leaves the outbox, counted in its hour. */
export function addDelivered<W extends AtomicWrites>(op: W, held: HeldEntry, at: number): W {
  return addTake(op, held)
    .sum(keys.webhookPending(), MINUS_ONE)
    .sum(keys.webhookCount(hourOf(at), "delivered"), 1n)
    .set(keys.webhookLast("success"), at);
}

/** Records a delivery given up: the entry leaves the outbox, counted as failed. */
export function addGivenUp<W extends AtomicWrites>(
  op: W,
  held: HeldEntry,
  failure: WebhookError,
): W {
  return addTake(op, held)
    .sum(keys.webhookPending(), MINUS_ONE)
    .sum(keys.webhookCount(hourOf(failure.at), "failed"), 1n)
    .set(keys.webhookLast("error"), failure);
}

function addTake<W extends AtomicWrites>(op: W, held: HeldEntry): W {
  const key = keyOf(held.entry);
  return op.check({ key, versionstamp: held.versionstamp }).delete(key);
}

/** Entries due up to `upTo` (included), soonest first. */
export async function listDueEntries(
  kv: Deno.Kv,
  options: { upTo: number; limit: number },
): Promise<HeldEntry[]> {
  const out: HeldEntry[] = [];
  const iterator = kv.list<OutboxEntry>({
    start: keys.webhookOutboxAll(),
    end: keys.webhookOutboxBefore(options.upTo + 1),
  }, { limit: options.limit });
  for await (const entry of iterator) {
    out.push({ entry: entry.value, versionstamp: entry.versionstamp });
  }
  return out;
}

/**
 * The pending count, the deliveries and failures counted from the hour `since` falls in, and
 * the last of each: a few keys and at most a day of hourly counts, however large the outbox.
 */
export async function readWebhookTotals(kv: Deno.Kv, since: number): Promise<WebhookTotals> {
  const [pending, success, error] = await kv.getMany<[Deno.KvU64, number, WebhookError]>([
    keys.webhookPending(),
    keys.webhookLast("success"),
    keys.webhookLast("error"),
  ]);
  const totals: WebhookTotals = {
    pending: Number(pending.value?.value ?? 0n),
    delivered: 0,
    failed: 0,
    lastSuccessAt: success.value,
    lastError: error.value,
  };
  const iterator = kv.list<Deno.KvU64>({
    start: keys.webhookCountsFrom(hourOf(since)),
    end: [...keys.webhookCounts(), Number.MAX_SAFE_INTEGER],
  });
  for await (const entry of iterator) {
    const outcome = entry.key[2] as "delivered" | "failed";
    totals[outcome] += Number(entry.value.value);
  }
  return totals;
}

/** Deletes hourly counts from before `beforeHour`; returns how many went. */
export async function pruneWebhookCounts(kv: Deno.Kv, beforeHour: number): Promise<number> {
  const stale: Deno.KvKey[] = [];
  const iterator = kv.list({
    start: keys.webhookCounts(),
    end: keys.webhookCountsFrom(beforeHour),
  });
  for await (const entry of iterator) stale.push(entry.key);
  for (let i = 0; i < stale.length; i += DELETE_BATCH) {
    const op = kv.atomic();
    for (const key of stale.slice(i, i + DELETE_BATCH)) op.delete(key);
    await op.commit();
  }
  return stale.length;
}

/**
 * Sets the pending count back to 0 when the outbox is empty but the count is not (entries of
 * an outbox nobody ran expired). The check on the count loses to any entry added meanwhile.
 */
export async function settlePendingCount(kv: Deno.Kv): Promise<boolean> {
  const count = await kv.get<Deno.KvU64>(keys.webhookPending());
  if (!count.value || count.value.value === 0n) return false;
  for await (const _ of kv.list({ prefix: keys.webhookOutboxAll() }, { limit: 1 })) return false;
  const result = await kv.atomic().check(count).set(count.key, new Deno.KvU64(0n)).commit();
  return result.ok;
}

function hourOf(at: number): number {
  return Math.floor(at / HOUR_MS) * HOUR_MS;
}
