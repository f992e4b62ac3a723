import { keys } from "./keys.ts";
import type { ChannelName } from "./otp_requests.ts";
import { commitUnchecked } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

/** The steps of the sign-in funnel, counted per channel too. */
export type FunnelStep = "requested" | "sent" | "verified";

/**
 * What the per-minute and per-hour counters count (core/live/emit.ts says what each means).
 * `went_online` and `went_offline` are presence transitions, counted so the online count of
 * any past minute or hour can be worked back from the live counter. `requested_sms`,
 * `sent_telegram`, …: a funnel step of one channel.
 */
export type StatMetric =
  | FunnelStep
  | "failed"
  | "rate_limited"
  | "went_online"
  | "went_offline"
  | `${FunnelStep}_${ChannelName}`;

/** The counter of one channel's funnel step. */
export function funnelMetric(step: FunnelStep, channel: ChannelName): StatMetric {
  return `${step}_${channel}`;
}

/** Counts of one minute; a metric nothing happened to is absent. */
export type MinuteCounts = Partial<Record<StatMetric, number>>;

/** Length of one stats bucket. */
export const MINUTE_MS = 60_000;
/** Length of one hourly stats bucket. */
export const HOUR_MS = 3_600_000;

// Deleted per commit when pruning; far below KV's mutation limit.
const DELETE_BATCH = 100;

/** The start (ms) of the minute `at` falls in. */
export function minuteOf(at: number): number {
  return Math.floor(at / MINUTE_MS) * MINUTE_MS;
}

/** The start (ms) of the hour `at` falls in. */
export function hourOf(at: number): number {
  return Math.floor(at / HOUR_MS) * HOUR_MS;
}

/**
 * Adds one count of each metric, in the minute and in the hour of `at`, to an operation.
 * `sum` never conflicts, so instances sharing a KV count together without retries, and a
 * group commit merges every request's sums to one key into one mutation.
 */
export function addStatCounts<W extends AtomicWrites>(
  op: W,
  at: number,
  metrics: readonly StatMetric[],
): W {
  const minute = minuteOf(at);
  const hour = hourOf(at);
  for (const metric of new Set(metrics)) {
    op.sum(keys.stat(minute, metric), 1n).sum(keys.statHour(hour, metric), 1n);
  }
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
 * The counts of every hour from `first` to `last` (hour starts, both included), read as one
 * key range (a week is 168 hours of a few counters each).
 */
export async function listHourlyStatCounts(
  kv: Deno.Kv,
  range: { first: number; last: number },
): Promise<Map<number, MinuteCounts>> {
  const out = new Map<number, MinuteCounts>();
  const iterator = kv.list<Deno.KvU64>(
    { start: keys.statHourStart(range.first), end: keys.statHourStart(range.last + HOUR_MS) },
    { batchSize: 1000 },
  );
  for await (const entry of iterator) {
    const hour = entry.key[1] as number;
    const metric = entry.key[2] as StatMetric;
    if (!(entry.value instanceof Deno.KvU64)) continue;
    const counts = out.get(hour) ?? {};
    counts[metric] = Number(entry.value.value);
    out.set(hour, counts);
  }
  return out;
}

/** Deletes the hourly counters of hours before `before`; returns how many went. */
export function deleteHourlyStatsBefore(kv: Deno.Kv, before: number): Promise<number> {
  return deleteRange(kv, { start: keys.statsHourly(), end: keys.statHourStart(before) });
}

/**
 * Deletes the counters of minutes before `before`. `sum` drops `expireIn`, so this is what
 * keeps the counters from piling up; it reads only the old minutes. Returns how many went.
 */
export function deleteStatsBefore(kv: Deno.Kv, before: number): Promise<number> {
  return deleteRange(kv, { start: keys.stats(), end: keys.statMinute(before) });
}

async function deleteRange(
  kv: Deno.Kv,
  range: { start: Deno.KvKey; end: Deno.KvKey },
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch: Deno.KvKey[] = [];
    const iterator = kv.list(range, { limit: DELETE_BATCH });
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
