import { keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

/**
 * What the per-minute counters count (core/live/emit.ts says what each means).
 * `went_online` and `went_offline` are presence transitions, counted so the online count of
 * any past minute can be worked back from the live counter.
 */
export type StatMetric =
  | "requested"
  | "sent"
  | "verified"
  | "failed"
  | "rate_limited"
  | "went_online"
  | "went_offline";

/** Counts of one minute; a metric nothing happened to is absent. */
export type MinuteCounts = Partial<Record<StatMetric, number>>;

/** Length of one stats bucket. */
export const MINUTE_MS = 60_000;

// Deleted per commit when pruning; far below KV's mutation limit.
const DELETE_BATCH = 100;

/** The start (ms) of the minute `at` falls in. */
export function minuteOf(at: number): number {
  return Math.floor(at / MINUTE_MS) * MINUTE_MS;
}

/**
 * Adds one count of each metric, in the minute of `at`, to an operation. `sum` never
 * conflicts, so instances sharing a KV count together without retries.
 */
export function addStatCounts<W extends AtomicWrites>(
  op: W,
  at: number,
  metrics: readonly StatMetric[],
): W {
  const minute = minuteOf(at);
  for (const metric of new Set(metrics)) op.sum(keys.stat(minute, metric), 1n);
  return op;
}

/**
 * The counts of every minute from `first` to `last` (minute starts, both included), read as
 * one key range: 60 minutes are a single list, never a read per minute.
 */
export async function listStatCounts(
  kv: Deno.Kv,
  range: { first: number; last: number },
): Promise<Map<number, MinuteCounts>> {
  const out = new Map<number, MinuteCounts>();
  const iterator = kv.list<Deno.KvU64>(
    { start: keys.statMinute(range.first), end: keys.statMinute(range.last + MINUTE_MS) },
    { batchSize: 500 },
  );
  for await (const entry of iterator) {
    const minute = entry.key[1] as number;
    const metric = entry.key[2] as StatMetric;
    if (!(entry.value instanceof Deno.KvU64)) continue;
    const counts = out.get(minute) ?? {};
    counts[metric] = Number(entry.value.value);
    out.set(minute, counts);
  }
  return out;
}

/**
 * Deletes the counters of minutes before `before`. `sum` drops `expireIn`, so this is what
 * keeps the counters from piling up; it reads only the old minutes. Returns how many went.
 */
export async function deleteStatsBefore(kv: Deno.Kv, before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch: Deno.KvKey[] = [];
    const iterator = kv.list({ start: keys.stats(), end: keys.statMinute(before) }, {
      limit: DELETE_BATCH,
    });
    for await (const entry of iterator) batch.push(entry.key);
    if (batch.length === 0) return deleted;
    await commitUnchecked("prune stats", () => {
      const op = kv.atomic();
      for (const key of batch) op.delete(key);
      return op;
    });
    deleted += batch.length;
    if (batch.length < DELETE_BATCH) return deleted;
  }
}
