import assert from "node:assert/strict";
import { FakeClock } from "../../core/clock.ts";

Deno.test("FakeClock - fires due timers in time order while advancing", () => {
  const clock = new FakeClock(0);
  const fired: [string, number][] = [];
  clock.setTimeout(() => fired.push(["b", clock.now()]), 200);
  clock.setTimeout(() => fired.push(["a", clock.now()]), 100);
  const cancelled = clock.setTimeout(() => fired.push(["x", clock.now()]), 150);
  clock.clearTimeout(cancelled);
  clock.advance(150);
  assert.deepEqual(fired, [["a", 100]]);
  clock.advance(100);
  assert.deepEqual(fired, [["a", 100], ["b", 200]]);
  assert.equal(clock.now(), 250);
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock - a timer due already fires soon, without an advance, as a 0 ms timer does", async () => {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(clock.now()), 0);
  const cancelled = clock.setTimeout(() => fired.push(-1), -5);
  clock.clearTimeout(cancelled);
  assert.deepEqual(fired, [], "not inside setTimeout itself");
  await Promise.resolve();
  assert.deepEqual(fired, [0]);
  assert.equal(clock.pending, 0);
});
