import { keys } from "./keys.ts";
import { bucketOf, SHARED_BUCKET_MS } from "./limits.ts";
import { commitUnchecked } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

const DAY_MS = 86_400_000;
/** Deleted per commit when pruning. */
const DELETE_BATCH = 500;
// Adding 2^64 - 1 to a `KvU64` wraps around: it is how a counter goes down.
const MINUS_ONE = 0xffff_ffff_ffff_ffffn;

/** A number range refused for SMS, or one an admin lifted a block of (not blocked again). */
export interface RangeBlock {
  prefix: string;
  status: "blocked" | "lifted";
  /** When the record ends (ms): the block runs out, or the lift stops protecting. */
  until: number;
  reason: string;
  /** The range's last hour when it was blocked. */
  sent: number;
  verified: number;
  at: number;
}

/** A number range's last hour as stored: SMS sent and codes used, per bucket, oldest first. */
export interface RangeRead {
  sent: [number, number][];
  verified: [number, number][];
  block: RangeBlock | null;
  /** SMS sent today (UTC), all ranges. */
  today: number;
}

/** The start (ms) of the UTC day `at` falls in. */
export function dayOf(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/**
 * Reads what an SMS to a range is checked against, in two parallel reads: the range's
 * buckets of the last `windowMs` (one list), its block record and today's count.
 */
export async function readRange(
  kv: Deno.Kv,
  prefix: string,
  options: { now: number; windowMs: number },
): Promise<RangeRead> {
  const first = bucketOf(options.now - options.windowMs - SHARED_BUCKET_MS) + SHARED_BUCKET_MS;
  const counters = kv.list<Deno.KvU64>({
    start: keys.smsRangeFrom(prefix, first),
    end: keys.smsRangeFrom(prefix, Number.MAX_SAFE_INTEGER),
  });
  const [list, [block, today]] = await Promise.all([
    Array.fromAsync(counters),
    kv.getMany<[RangeBlock, Deno.KvU64]>([keys.smsBlock(prefix), keys.smsDay(dayOf(options.now))]),
  ]);
  const sent: [number, number][] = [];
  const verified: [number, number][] = [];
  for (const entry of list) {
    if (!(entry.value instanceof Deno.KvU64)) continue;
    const bucket = entry.key[2] as number;
    (entry.key[3] === "sent" ? sent : verified).push([bucket, Number(entry.value.value)]);
  }
  return {
    sent,
    verified,
    block: block.value && block.value.until > options.now ? block.value : null,
    today: today.value instanceof Deno.KvU64 ? Number(today.value.value) : 0,
  };
}

/** Counts one SMS to `prefix` (and today's total) at `at`; `by: -1` takes one back. */
export function addSmsSent<W extends AtomicWrites>(
  w: W,
  prefix: string,
  at: number,
  by: 1 | -1 = 1,
): W {
  const n = by === 1 ? 1n : MINUS_ONE;
  return w.sum(keys.smsRangeCount(prefix, bucketOf(at), "sent"), n).sum(
    keys.smsDay(dayOf(at)),
    n,
  );
}

/** Counts one code sent by SMS to `prefix` that was used at `at`. */
export function addSmsVerified<W extends AtomicWrites>(w: W, prefix: string, at: number): W {
  return w.sum(keys.smsRangeCount(prefix, bucketOf(at), "verified"), 1n);
}

/** Blocks a range (guarded: only if it has no record, so one instance blocks it once). */
export function addRangeBlock<W extends AtomicWrites>(
  w: W,
  current: Deno.KvEntryMaybe<RangeBlock>,
  block: RangeBlock,
): W {
  return w.check(current).set(keys.smsBlock(block.prefix), block, {
    expireIn: Math.max(1, block.until - block.at),
  });
}

/** A range's block record, with its versionstamp. */
export function getRangeBlock(
  kv: Deno.Kv,
  prefix: string,
): Promise<Deno.KvEntryMaybe<RangeBlock>> {
  return kv.get<RangeBlock>(keys.smsBlock(prefix));
}

/** Every range blocked now (lifted ones are not), soonest to end first. */
export async function listBlockedRanges(kv: Deno.Kv, now: number): Promise<RangeBlock[]> {
  const out: RangeBlock[] = [];
  for await (const entry of kv.list<RangeBlock>({ prefix: keys.smsBlocks() })) {
    if (entry.value.status === "blocked" && entry.value.until > now) out.push(entry.value);
  }
  return out.sort((a, b) => a.until - b.until);
}

/** SMS sent on the UTC day of `now`. */
export async function readSmsToday(kv: Deno.Kv, now: number): Promise<number> {
  const entry = await kv.get<Deno.KvU64>(keys.smsDay(dayOf(now)));
  return entry.value instanceof Deno.KvU64 ? Number(entry.value.value) : 0;
}

/** The once-a-day "SMS budget spent" marker (check it is null to be the first to write it). */
export function getBudgetNotice(kv: Deno.Kv, now: number): Promise<Deno.KvEntryMaybe<number>> {
  return kv.get<number>(keys.smsBudgetNotice(dayOf(now)));
}

/** Writes today's "SMS budget spent" marker, only if nobody did. */
export function addBudgetNotice<W extends AtomicWrites>(
  w: W,
  current: Deno.KvEntryMaybe<number>,
  now: number,
): W {
  return w.check(current).set(keys.smsBudgetNotice(dayOf(now)), now, { expireIn: 2 * DAY_MS });
}

/**
 * Deletes range buckets from before `before` and daily counts older than two days (`sum`
 * keeps no `expireIn`). Reads every range's buckets: as many as ranges with SMS lately.
 */
export async function pruneSmsCounters(kv: Deno.Kv, before: number): Promise<number> {
  const stale: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix: keys.smsRanges() })) {
    if ((entry.key[2] as number) < before) stale.push(entry.key);
  }
  const lastDay = dayOf(before) - DAY_MS;
  for await (const entry of kv.list({ start: keys.smsDays(), end: keys.smsDay(lastDay) })) {
    stale.push(entry.key);
  }
  for (let i = 0; i < stale.length; i += DELETE_BATCH) {
    const batch = stale.slice(i, i + DELETE_BATCH);
    await commitUnchecked("prune SMS counters", () => {
      const op = kv.atomic();
      for (const key of batch) op.delete(key);
      return op;
    });
  }
  return stale.length;
}
