import assert from "node:assert/strict";
import { Admissions } from "../../core/auth/admissions.ts";
import { TtlCache } from "../../core/cache.ts";
import { FakeClock } from "../../core/clock.ts";

Deno.test("TtlCache - entries age by the injected clock too, and a drop is at once", async () => {
  const clock = new FakeClock();
  const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10, now: () => clock.now() });
  let loads = 0;
  const load = () => Promise.resolve(`v${++loads}`);
  assert.equal(await cache.through("a", load), "v1");
  assert.equal(await cache.through("a", load), "v1", "fresh: not loaded again");
  clock.advance(1000);
  assert.equal(await cache.through("a", load), "v2", "a second old: loaded again");
  cache.delete("a");
  assert.equal(await cache.through("a", load), "v3");
});

Deno.test("TtlCache - concurrent readers share one load; a load overtaken by a drop is not kept", async () => {
  const clock = new FakeClock();
  const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 10, now: () => clock.now() });
  let release!: (value: string) => void;
  let loads = 0;
  const slow = () => {
    loads++;
    return new Promise<string>((resolve) => release = resolve);
  };
  const a = cache.through("k", slow);
  const b = cache.through("k", slow);
  assert.equal(loads, 1);
  cache.delete("k"); // changed while the read was on its way: its value is already old
  release("old");
  assert.equal(await a, "old");
  assert.equal(await b, "old");
  assert.equal(cache.get("k"), undefined, "the old value was not put back");
});

Deno.test("TtlCache - holds at most maxEntries, dropping the oldest", () => {
  const clock = new FakeClock();
  const cache = new TtlCache<number>({ ttlMs: 1000, maxEntries: 3, now: () => clock.now() });
  for (let i = 0; i < 5; i++) cache.set(`k${i}`, i);
  assert.equal(cache.size, 3);
  assert.equal(cache.get("k0"), undefined);
  assert.equal(cache.get("k4"), 4);
});

Deno.test("Admissions - counts what a read cannot have seen: in flight, landed since, taken back", () => {
  const admissions = new Admissions(() => 0);
  const before = performance.now();
  const first = admissions.admit("198.51.100.1");
  const second = admissions.admit("198.51.100.1");
  assert.equal(admissions.unseen("198.51.100.1", before), 2, "two in flight");
  first(true);
  second(false);
  assert.equal(admissions.unseen("198.51.100.1", before), 1, "one landed, one refused");
  const after = performance.now() + 1;
  assert.equal(admissions.unseen("198.51.100.1", after), 0, "a later read saw it");
  admissions.takeBack("198.51.100.1");
  assert.equal(admissions.unseen("198.51.100.1", before), 0);
  assert.equal(admissions.unseen("203.0.113.9", before), 0, "other IPs are apart");
});

Deno.test("TtlCache.many - keys another call is loading are waited for, not loaded again", async () => {
  const clock = new FakeClock();
  const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 100, now: () => clock.now() });
  const batches: string[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const loadMany = async (missing: string[]) => {
    batches.push(missing);
    await gate;
    return new Map(missing.map((key) => [key, `v:${key}`]));
  };
  // Fifty callers ask for the same batch at once (entries that aged out together).
  const calls = Array.from({ length: 50 }, () => cache.many(["a", "b", "c"], loadMany, "none"));
  const overlapping = cache.many(["b", "c", "d"], loadMany, "none");
  release();
  for (const result of await Promise.all(calls)) {
    assert.deepEqual(result, ["v:a", "v:b", "v:c"]);
  }
  assert.deepEqual(await overlapping, ["v:b", "v:c", "v:d"]);
  assert.deepEqual(batches, [["a", "b", "c"], ["d"]], "each key read once");
  // Now cached: nothing is read.
  await cache.many(["a", "d"], loadMany, "none");
  assert.equal(batches.length, 2);
});
