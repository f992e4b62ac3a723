import { type IpCounterKind, keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

/** Buckets of shared counters: a rolling hour is read as 7 of them (one `getMany`). */
export const SHARED_BUCKET_MS = 10 * 60_000;

/** Deleted per commit when pruning. */
const DELETE_BATCH = 500;

/** The start (ms) of the bucket `at` falls in. */
export function bucketOf(at: number, bucketMs = SHARED_BUCKET_MS): number {
  return Math.floor(at / bucketMs) * bucketMs;
}

/**
 * Keys of the buckets that still count for a rolling window ending now: a bucket counts until
 * its last instant has left the window, so the window never lets more through than its limit.
 */
export function ipBucketKeys(
  kind: IpCounterKind,
  ip: string,
  now: number,
  windowMs: number,
): Deno.KvKey[] {
  const current = bucketOf(now);
  const out: Deno.KvKey[] = [];
  for (let start = current; start + SHARED_BUCKET_MS + windowMs > now; start -= SHARED_BUCKET_MS) {
    out.push(keys.ipCounter(kind, start, ip));
  }
  return out;
}

/** `[bucket start, count]` of counter entries read with `ipBucketKeys`, oldest first. */
export function bucketCounts(entries: Deno.KvEntryMaybe<unknown>[]): [number, number][] {
  const out: [number, number][] = [];
  for (const entry of entries) {
    if (entry.value instanceof Deno.KvU64) {
      out.push([entry.key[2] as number, Number(entry.value.value)]);
    }
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** An IP's counts per bucket that still count for a rolling window, oldest first. */
export async function readIpCounter(
  kv: Deno.Kv,
  kind: IpCounterKind,
  options: { ip: string; now: number; windowMs: number },
): Promise<[number, number][]> {
  const keys = ipBucketKeys(kind, options.ip, options.now, options.windowMs);
  return bucketCounts(await kv.getMany(keys));
}

/** Counts one more of `kind` for `ip` in its bucket: `sum` never conflicts. */
export function addIpCount<W extends AtomicWrites>(
  w: W,
  kind: IpCounterKind,
  ip: string,
  at: number,
): W {
  return w.sum(keys.ipCounter(kind, bucketOf(at), ip), 1n);
}

// Adding 2^64 - 1 to a `KvU64` wraps around: it is how a counter goes down.
const MINUS_ONE = 0xffff_ffff_ffff_ffffn;

/** Takes back one request of `ip` counted at `at` (nothing can have been sent for it). */
export function addIpRefund<W extends AtomicWrites>(w: W, ip: string, at: number): W {
  return w.sum(keys.ipCounter("requests", bucketOf(at), ip), MINUS_ONE);
}

/** Deletes per-IP counters of buckets before `before` (`sum` keeps no `expireIn`). */
export async function pruneIpCounters(kv: Deno.Kv, before: number): Promise<number> {
  let deleted = 0;
  for (const kind of ["requests", "failures"] as const) deleted += await pruneKind(kind, before);
  return deleted;

  async function pruneKind(kind: IpCounterKind, before: number): Promise<number> {
    let done = 0;
    for (;;) {
      const batch: Deno.KvKey[] = [];
      const iterator = kv.list({
        start: keys.ipCounters(kind),
        end: keys.ipCountersBefore(kind, before),
      }, { limit: DELETE_BATCH });
      for await (const entry of iterator) batch.push(entry.key);
      if (batch.length === 0) return done;
      await commitUnchecked("prune per-IP counters", () => {
        const op = kv.atomic();
        for (const key of batch) op.delete(key);
        return op;
      });
      done += batch.length;
      if (batch.length < DELETE_BATCH) return done;
    }
  }
}
