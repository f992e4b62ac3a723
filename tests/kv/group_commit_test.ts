import assert from "node:assert/strict";
import { GroupCommitter } from "../../kv/group_commit.ts";
import { Writes } from "../../kv/writes.ts";
import { guardKv } from "../kv_guard.ts";

/** A KV whose commits are counted. */
function countingKv(kv: Deno.Kv): { kv: Deno.Kv; commits: () => number } {
  let commits = 0;
  const atomic = kv.atomic.bind(kv);
  kv.atomic = () => {
    const op = atomic();
    const commit = op.commit.bind(op);
    op.commit = () => {
      commits++;
      return commit();
    };
    return op;
  };
  return { kv: guardKv(kv), commits: () => commits };
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
