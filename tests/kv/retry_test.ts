import assert from "node:assert/strict";
import { clientError } from "../../core/errors.ts";
import { CONFLICT, isLocked, KvContention, retry } from "../../kv/retry.ts";
import { guardKv, KV_GUARD_PRELOAD } from "../../fakes/kv_guard.ts";

Deno.test("retry() - a lost check is read again and decided anew until it wins", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    // Ten writers raise one counter with read-check-write: every raise lands exactly once.
    await Promise.all(Array.from({ length: 10 }, () =>
      retry("raise the counter", async () => {
        const entry = await kv.get<number>(["n"]);
        const ok = (await kv.atomic().check(entry).set(["n"], (entry.value ?? 0) + 1).commit()).ok;
        return ok ? undefined : CONFLICT;
      })));
    assert.equal((await kv.get<number>(["n"])).value, 10);
  } finally {
    kv.close();
  }
});

Deno.test("retry() - 'database is locked' is retried; other errors are thrown at once", async () => {
  let calls = 0;
  const value = await retry("read through a locked file", () => {
    calls++;
    if (calls < 3) throw new TypeError("database is locked");
    return Promise.resolve("done");
  });
  assert.equal(value, "done");
  assert.equal(calls, 3);

  let other = 0;
  await assert.rejects(
    retry("fail", () => {
      other++;
      throw new RangeError("a bug");
    }),
    RangeError,
  );
  assert.equal(other, 1, "a bug is not retried");
});

Deno.test("retry() - past its budget it gives up with KvContention, which clients see as 429", async () => {
  let calls = 0;
  const error = await retry("win a hopeless race", () => {
    calls++;
    return Promise.resolve(CONFLICT);
  }, { attempts: 5, withinMs: 10_000 }).catch((e) => e);
  assert.ok(error instanceof KvContention);
  assert.equal(calls, 5);
  assert.match(error.message, /Cannot win a hopeless race: still contended after 5 attempts/);
  const answer = clientError(error);
  assert.equal(answer?.status, 429);
  assert.equal(answer?.code, "RATE_LIMITED");
  assert.equal(answer?.extra.retry_after, 1);
  assert.equal(clientError(new Error("a bug")), null, "a bug stays a bug (500)");
});

Deno.test("isLocked() - knows SQLite's busy errors and nothing else", () => {
  assert.equal(isLocked(new TypeError("database is locked")), true);
  assert.equal(isLocked(new Error("SQLITE_BUSY: database table is locked")), true);
  assert.equal(isLocked(new Error("database is corrupt")), false);
  assert.equal(isLocked("database is locked"), false);
});

Deno.test("retry() - two processes opening and writing one new KV file get every write in", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/kv.sqlite`;
  // Each process raises a shared counter 300 times with read-check-write under contention
  // from its own 16 workers and the other process: "database is locked" and lost checks both.
  const script = `
    import { CONFLICT, retry } from "${new URL("../../kv/retry.ts", import.meta.url)}";
    import { openKv } from "${new URL("../../kv/open.ts", import.meta.url)}";
    const kv = await openKv(${JSON.stringify(path)});
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let i = 0; i < 19; i++) {
        await retry("raise", async () => {
          const e = await kv.get(["n"]);
          const ok = (await kv.atomic().check(e).set(["n"], (e.value ?? 0) + 1).sum(["s"], 1n).commit()).ok;
          return ok ? undefined : CONFLICT;
        }, { attempts: 1000, withinMs: 60000 });
      }
    }));
    kv.close();
  `;
  try {
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--unstable-kv", ...KV_GUARD_PRELOAD, script],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const results = await Promise.all([run(), run()]);
    for (const result of results) {
      assert.equal(result.success, true, new TextDecoder().decode(result.stderr));
    }
    const kv = await Deno.openKv(path);
    assert.equal((await kv.get<number>(["n"])).value, 2 * 16 * 19);
    assert.equal((await kv.get<Deno.KvU64>(["s"])).value?.value, BigInt(2 * 16 * 19));
    kv.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
