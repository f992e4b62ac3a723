import assert from "node:assert/strict";
import {
  commitLimitsOf,
  GroupCommitter,
  LOCAL_LIMITS,
  PORTABLE_LIMITS,
} from "../../kv/group_commit.ts";
import { addEvent, listInstanceEvents, type StoredEvent } from "../../kv/events.ts";
import { keys } from "../../kv/keys.ts";
import { Writes } from "../../kv/writes.ts";
import { guardKv } from "../../fakes/kv_guard.ts";

/** A KV whose commits are counted (guarded as KV Connect unless `guarded` is false). */
function countingKv(
  kv: Deno.Kv,
  options: { guarded?: boolean } = {},
): { kv: Deno.Kv; commits: () => number; checks: number[]; mutations: number[] } {
  let commits = 0;
  const checks: number[] = [];
  const mutations: number[] = [];
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    let checked = 0;
    const check = op.check.bind(op);
    op.check = (...c: Deno.AtomicCheck[]) => {
      checked += c.length;
      return check(...c);
    };
    let mutated = 0;
    const set = op.set.bind(op);
    op.set = (...args: Parameters<Deno.AtomicOperation["set"]>) => {
      mutated++;
      return set(...args);
    };
    const commit = op.commit.bind(op);
    op.commit = () => {
      commits++;
      checks.push(checked);
      mutations.push(mutated);
      return commit();
    };
    return op;
  };
  return {
    kv: options.guarded === false ? kv : guardKv(kv),
    commits: () => commits,
    checks,
    mutations,
  };
}

/** `n` sign-ins' worth of writes: two checks each, as a verify has. */
function checkedWrites(n: number): Writes[] {
  return Array.from({ length: n }, (_, i) =>
    new Writes()
      .check({ key: ["request", i], versionstamp: null }, { key: ["index", i], versionstamp: null })
      .set(["request", i], i)
      .set(["index", i], i));
}

Deno.test("GroupCommitter - concurrent writes share commits and each hears its versionstamp", async () => {
  const { kv, commits } = countingKv(await Deno.openKv(":memory:"));
  try {
    const committer = new GroupCommitter(kv);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => committer.commit(new Writes().set(["k", i], i))),
    );
    assert.ok(results.every((v) => typeof v === "string" && v.length > 0));
    assert.ok(commits() < 20, `200 writes took ${commits()} commits`);
    assert.equal((await kv.get(["k", 199])).value, 199);
    assert.equal(committer.stats.contributions, 200);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - two read-check-writes of one key never share a commit", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const committer = new GroupCommitter(kv);
    await kv.set(["n"], 0);
    const entry = await kv.get<number>(["n"]);
    // Twenty writers all read 0 and want to write 1: exactly one may win, whatever batching.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      committer.commit(
        new Writes().check(entry).set(["n"], entry.value! + 1).set(["by", i], true),
      )));
    assert.equal(results.filter((v) => v !== null).length, 1);
    assert.equal((await kv.get(["n"])).value, 1);
    const writers = [];
    for await (const e of kv.list({ prefix: ["by"] })) writers.push(e.key[1]);
    assert.equal(writers.length, 1, "the losers wrote nothing");
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - a failed check refuses only its own writes", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const committer = new GroupCommitter(kv);
    const stale = await kv.get(["guard"]);
    await kv.set(["guard"], "changed");
    const results = await Promise.all([
      committer.commit(new Writes().set(["a"], 1)),
      committer.commit(new Writes().check(stale).set(["b"], 1)),
      committer.commit(new Writes().sum(["c"], 1n)),
    ]);
    assert.notEqual(results[0], null);
    assert.equal(results[1], null);
    assert.notEqual(results[2], null);
    assert.equal((await kv.get(["a"])).value, 1);
    assert.equal((await kv.get(["b"])).value, null);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - no commit carries more than 10 checks or 1000 mutations", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const checks: number[] = [];
    const mutations: number[] = [];
    const atomic = kv.atomic.bind(kv);
    kv.atomic = () => {
      const op = atomic();
      let c = 0;
      let m = 0;
      const check = op.check.bind(op);
      const set = op.set.bind(op);
      op.check = (...a) => (c += a.length, check(...a));
      op.set = (k, v, o) => (m++, set(k, v, o));
      const commit = op.commit.bind(op);
      op.commit = () => (checks.push(c), mutations.push(m), commit());
      return op;
    };
    const committer = new GroupCommitter(kv);
    await Promise.all([
      ...Array.from(
        { length: 30 },
        (_, i) =>
          committer.commit(
            new Writes().check({ key: ["c", i], versionstamp: null }).set(["c", i], i),
          ),
      ),
      ...Array.from({ length: 30 }, (_, i) => {
        const w = new Writes();
        for (let j = 0; j < 100; j++) w.set(["m", i, j], j);
        return committer.commit(w);
      }),
    ]);
    assert.ok(Math.max(...checks) <= 10, `checks per commit: ${checks}`);
    assert.ok(Math.max(...mutations) <= 1000, `mutations per commit: ${mutations}`);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - ungrouped, every write is a commit of its own", async () => {
  const { kv, commits } = countingKv(await Deno.openKv(":memory:"));
  try {
    const committer = new GroupCommitter(kv, { grouped: false });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => committer.commit(new Writes().set(["k", i], i))),
    );
    assert.equal(commits(), 20);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - on the embedded KV a commit carries up to 100 checks; on KV Connect 10", async () => {
  for (const [limits, most] of [[LOCAL_LIMITS, 100], [PORTABLE_LIMITS, 10]] as const) {
    const { kv, commits, checks } = countingKv(await Deno.openKv(":memory:"), { guarded: false });
    try {
      const committer = new GroupCommitter(kv, { limits });
      const results = await Promise.all(checkedWrites(120).map((w) => committer.commit(w)));
      assert.ok(results.every((v) => v !== null));
      assert.ok(Math.max(...checks) <= most, `${Math.max(...checks)} checks in one commit`);
      if (most === 100) {
        assert.ok(Math.max(...checks) > 10, "more than 10 checks share a commit");
        assert.ok(commits() <= 4, `120 checked writes took ${commits()} commits`);
      } else assert.ok(commits() >= 24);
    } finally {
      kv.close();
    }
  }
});

Deno.test("GroupCommitter - a batch over KV's size caps splits; only a write too large by itself fails", async () => {
  const { kv, commits } = countingKv(await Deno.openKv(":memory:"), { guarded: false });
  try {
    const committer = new GroupCommitter(kv, { limits: LOCAL_LIMITS });
    // Long keys: a batch is cut by their total size before KV's 80 KiB cap.
    const longKeys = await Promise.all(
      Array.from(
        { length: 60 },
        (_, i) => committer.commit(new Writes().set(["long", "k".repeat(1_900), i], i)),
      ),
    );
    assert.ok(longKeys.every((v) => v !== null));
    assert.ok(
      commits() >= 3 && commits() <= 10,
      `cut by key size, not split one by one: ${commits()}`,
    );
    // Big values (not measured ahead): 20 × 60 KB is over KV's 800 KiB per commit.
    const before = commits();
    const big = "v".repeat(60_000);
    const tooBig = "v".repeat(70_000); // over KV's 64 KiB per value
    const results = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => committer.commit(new Writes().set(["big", i], big))),
      committer.commit(new Writes().set(["too big"], tooBig)),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled" && r.value !== null).length, 20);
    const failed = results.filter((r) => r.status === "rejected");
    assert.equal(failed.length, 1);
    assert.equal((await kv.get(["big", 19])).value, big);
    assert.equal((await kv.get(["too big"])).value, null);
    assert.ok(commits() - before >= 20);
  } finally {
    kv.close();
  }
});

Deno.test("commitLimitsOf - a wrapper's declared limits, else the embedded KV's, else portable", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    assert.deepEqual(commitLimitsOf(kv, true), LOCAL_LIMITS);
    assert.deepEqual(commitLimitsOf(kv, false), PORTABLE_LIMITS);
    assert.equal(
      commitLimitsOf(guardKv(kv), true).maxChecks,
      10,
      "the guard stands for KV Connect",
    );
  } finally {
    kv.close();
  }
});

/** An event of instance `i`, with `pad` characters of data. */
function loggedEvent(n: number, pad = 0): StoredEvent {
  return {
    id: `evt_${String(n).padStart(6, "0")}`,
    instance: "i",
    kind: "otp",
    data: { type: "otp.sent", at: "2026-12-01T10:00:00.000Z", n, pad: "x".repeat(pad) },
  };
}

/** Every event of instance "i" in the ordered log, in order, and how many entries hold them. */
async function orderedLog(kv: Deno.Kv): Promise<{ events: number[]; entries: number }> {
  const entries = await listInstanceEvents(kv, "i", { after: -1, limit: 1000 });
  return {
    events: entries.flatMap((entry) => entry.events.map((event) => event.data.n as number)),
    entries: entries.length,
  };
}

Deno.test("GroupCommitter - a commit's events share ordered entries; every one is read once, in order", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const committer = new GroupCommitter(kv, { instance: "i" });
    // Forty contributions of two events each, most of them in one commit.
    await Promise.all(Array.from({ length: 40 }, (_, i) => {
      const w = new Writes();
      addEvent(w, loggedEvent(2 * i));
      addEvent(w, loggedEvent(2 * i + 1));
      return committer.commit(w);
    }));
    const log = await orderedLog(kv);
    assert.deepEqual(log.events, Array.from({ length: 80 }, (_, i) => i));
    assert.ok(log.entries <= 12, `80 events in ${log.entries} entries`);
    // An entry written before entries held lists (one event) still reads.
    await kv.set(keys.instanceEvent("i", 1_000), loggedEvent(80));
    assert.deepEqual((await orderedLog(kv)).events.slice(-2), [79, 80]);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - events too large to share an entry are filed one an entry", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const committer = new GroupCommitter(kv, { instance: "i" });
    // Four 20 KB events: together over KV's 64 KiB per value, each under it.
    const w = new Writes();
    for (let n = 0; n < 4; n++) addEvent(w, loggedEvent(n, 20_000));
    assert.notEqual(await committer.commit(w), null);
    const log = await orderedLog(kv);
    assert.deepEqual(log.events, [0, 1, 2, 3]);
    assert.equal(log.entries, 4);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - on the embedded KV a commit carries at most 300 mutations", async () => {
  const { kv, mutations } = countingKv(await Deno.openKv(":memory:"), { guarded: false });
  try {
    const committer = new GroupCommitter(kv, { limits: LOCAL_LIMITS });
    // A hundred writes of ten keys each, all at once: 1,000 mutations.
    await Promise.all(Array.from({ length: 100 }, (_, i) => {
      const w = new Writes();
      for (let j = 0; j < 10; j++) w.set(["many", i, j], j);
      return committer.commit(w);
    }));
    assert.equal(mutations.reduce((a, b) => a + b, 0), 1_000);
    assert.ok(Math.max(...mutations) <= 300, `${Math.max(...mutations)} in one commit`);
    assert.ok(Math.max(...mutations) > 10, "writes still share commits");
  } finally {
    kv.close();
  }
});
