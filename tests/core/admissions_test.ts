import assert from "node:assert/strict";
import { Admissions, EXACT_HEADROOM, Gates } from "../../core/auth/admissions.ts";
import { FakeClock } from "../../core/clock.ts";

const HOUR = 3_600_000;
const BUCKET = 600_000;

/** A shared counter as KV would hold it: one bucket, moved by the commits that land. */
function sharedCounter(now: number) {
  let total = 0;
  let reads = 0;
  return {
    read: () => {
      reads++;
      return Promise.resolve<[number, number][]>(total ? [[now - (now % BUCKET), total]] : []);
    },
    land: () => total++,
    get total() {
      return total;
    },
    get reads() {
      return reads;
    },
  };
}

Deno.test("Admissions.reserve() - 50 at once under a cap of 7: exactly 7 held, whatever the order they land in", async () => {
  const clock = new FakeClock();
  const admissions = new Admissions(() => clock.now());
  const counter = sharedCounter(clock.now());
  const results = await Promise.all(Array.from({ length: 50 }, async () => {
    const held = await admissions.reserve("198.51.100.1", {
      limit: 7,
      windowMs: HOUR,
      bucketMs: BUCKET,
      now: clock.now(),
      read: counter.read,
    });
    if (!held.allowed) return false;
    // The commit: a few turns of the event loop, then it lands.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    counter.land();
    held.release(true);
    return true;
  }));
  assert.equal(results.filter(Boolean).length, 7);
  assert.equal(counter.total, 7);
});

Deno.test("Admissions.reserve() - a place given back (nothing committed) is free again", async () => {
  const clock = new FakeClock();
  const admissions = new Admissions(() => clock.now());
  const counter = sharedCounter(clock.now());
  const options = {
    limit: 1,
    windowMs: HOUR,
    bucketMs: BUCKET,
    now: clock.now(),
    read: counter.read,
  };
  const first = await admissions.reserve("a", options);
  assert.ok(first.allowed);
  first.release(false);
  const second = await admissions.reserve("a", options);
  assert.ok(second.allowed);
  second.release(true);
  counter.land();
  const third = await admissions.reserve("a", options);
  assert.equal(third.allowed, false);
});

Deno.test("Admissions.reserve() - a read that fails hands the turn on: nobody waits forever", async () => {
  const clock = new FakeClock();
  const admissions = new Admissions(() => clock.now());
  const options = {
    limit: 5,
    windowMs: HOUR,
    bucketMs: BUCKET,
    now: clock.now(),
    read: () => Promise.reject(new Error("database is locked")),
  };
  await assert.rejects(admissions.reserve("a", options), /database is locked/);
  const next = await admissions.reserve("a", { ...options, read: () => Promise.resolve([]) });
  assert.ok(next.allowed);
  next.release(true);
});

Deno.test("Admissions.reserve() - far from the cap nobody waits for a turn and a cached read serves", async () => {
  const clock = new FakeClock();
  const admissions = new Admissions(() => clock.now());
  const counter = sharedCounter(clock.now());
  const options = {
    limit: EXACT_HEADROOM * 10,
    windowMs: HOUR,
    bucketMs: BUCKET,
    now: clock.now(),
    read: counter.read,
  };
  const held = await Promise.all(
    Array.from({ length: 20 }, () => admissions.reserve("b", options)),
  );
  // None waited on another: all hold their place at once, on one read.
  assert.ok(held.every((h) => h.allowed));
  assert.equal(counter.reads, 1);
  for (const h of held) if (h.allowed) h.release(true);
});

Deno.test("Gates - one holder at a time per subject, in arrival order; other subjects go on", async () => {
  const gates = new Gates();
  const order: string[] = [];
  const leaveA = await gates.enter("x");
  const second = gates.enter("x").then((leave) => {
    order.push("x2");
    leave();
  });
  const other = gates.enter("y").then((leave) => {
    order.push("y1");
    leave();
  });
  await other;
  assert.deepEqual(order, ["y1"]);
  order.push("x1 leaves");
  leaveA();
  leaveA(); // a second call changes nothing
  await second;
  assert.deepEqual(order, ["y1", "x1 leaves", "x2"]);
  assert.equal(gates.size, 0);
});
