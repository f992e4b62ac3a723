import type { WindowCounter } from "../kv/otp_requests.ts";

export type { WindowCounter };

/*
 * A rolling-window counter kept in one small record: requests are counted in buckets of
 * 1/60 of the window, and a bucket stops counting only once its *last* instant has left the
 * window. So it never lets more than `limit` through in any rolling window, at the price of
 * holding a request up to one bucket (a minute for an hour) longer than strictly needed.
 */

/** The outcome of counting one more request against a window. */
export interface WindowDecision {
  allowed: boolean;
  /** When not allowed: how long until one more request would be. */
  retryAfterMs: number;
  /** The counter to store when the request goes ahead. */
  next: WindowCounter;
  /** What the window holds already, unseen requests included (before this one). */
  count: number;
}

/**
 * Decides whether one more request fits into `limit` per `windowMs`. Buckets are 1/60 of the
 * window unless `bucketMs` says otherwise; `unseen` counts requests not in `counter` yet (in
 * flight on this instance), as if they were in the current bucket.
 */
export function countInWindow(
  counter: WindowCounter | null,
  options: { limit: number; windowMs: number; now: number; bucketMs?: number; unseen?: number },
): WindowDecision {
  const { limit, windowMs, now } = options;
  const bucketMs = options.bucketMs ?? Math.max(1, Math.floor(windowMs / 60));
  const live = (counter?.buckets ?? []).filter(([start]) => start + bucketMs + windowMs > now);
  const unseen = options.unseen ?? 0;
  const total = live.reduce((sum, [, count]) => sum + count, 0) + unseen;
  if (total >= limit) {
    let toDrop = total - limit + 1;
    let retryAfterMs = windowMs;
    for (const [start, count] of live) {
      toDrop -= count;
      if (toDrop <= 0) {
        retryAfterMs = start + bucketMs + windowMs - now;
        break;
      }
    }
    // Only unseen requests left to drop: they count from the current bucket.
    if (toDrop > 0) {
      retryAfterMs = Math.floor(now / bucketMs) * bucketMs + bucketMs + windowMs - now;
    }
    return { allowed: false, retryAfterMs, next: { buckets: live }, count: total };
  }
  const current = Math.floor(now / bucketMs) * bucketMs;
  const last = live[live.length - 1];
  const buckets: [number, number][] = last && last[0] === current
    ? [...live.slice(0, -1), [current, last[1] + 1]]
    : [...live, [current, 1]];
  return { allowed: true, retryAfterMs: 0, next: { buckets }, count: total };
}

/** Gives back one request counted at `at` (one whose work was not done after all). */
export function refundInWindow(
  counter: WindowCounter,
  options: { windowMs: number; at: number },
): WindowCounter {
  const bucketMs = Math.max(1, Math.floor(options.windowMs / 60));
  const bucket = Math.floor(options.at / bucketMs) * bucketMs;
  return {
    buckets: counter.buckets
      .map(([start, count]): [number, number] => [start, start === bucket ? count - 1 : count])
      .filter(([, count]) => count > 0),
  };
}
