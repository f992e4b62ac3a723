import assert from "node:assert/strict";
import { countInWindow, type WindowCounter } from "../../core/limits.ts";

const HOUR = 3_600_000;

function run(
  times: number[],
  limit: number,
): { allowed: boolean[]; counter: WindowCounter | null } {
  let counter: WindowCounter | null = null;
  const allowed = times.map((now) => {
    const decision = countInWindow(counter, { limit, windowMs: HOUR, now });
    if (decision.allowed) counter = decision.next;
    return decision.allowed;
  });
  return { allowed, counter };
}

Deno.test("countInWindow() - never lets more than the limit through in any rolling hour", () => {
  const start = Date.parse("2026-11-21T10:59:00Z");
  // A burst right before a clock hour turns, and another right after it.
  const times = [0, 10, 20, 30, 40, 70_000, 80_000, 90_000].map((t) => start + t);
  const { allowed } = run(times, 5);
  assert.deepEqual(allowed, [true, true, true, true, true, false, false, false]);
});

Deno.test("countInWindow() - says when the next request fits", () => {
  const start = Date.parse("2026-11-21T10:00:00Z");
  let counter: WindowCounter | null = null;
  for (let i = 0; i < 3; i++) {
    counter = countInWindow(counter, { limit: 3, windowMs: HOUR, now: start + i * 600_000 }).next;
  }
  const refused = countInWindow(counter, { limit: 3, windowMs: HOUR, now: start + 1_800_000 });
  assert.equal(refused.allowed, false);
  // The first request's bucket (one minute wide) leaves the window 61 minutes after it began.
  assert.equal(refused.retryAfterMs, HOUR + 60_000 - 1_800_000);
  const later = countInWindow(counter, {
    limit: 3,
    windowMs: HOUR,
    now: start + 1_800_000 + refused.retryAfterMs,
  });
  assert.equal(later.allowed, true);
});

Deno.test("countInWindow() - forgets buckets that left the window", () => {
  const start = Date.parse("2026-11-21T10:00:00Z");
  const { counter } = run([start, start + 1000, start + 2 * HOUR], 5);
  assert.equal(counter!.buckets.length, 1);
  assert.equal(counter!.buckets[0][1], 1);
});
