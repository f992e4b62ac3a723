import assert from "node:assert/strict";
import {
  assertNoKvViolations,
  guardKv,
  KV_GUARD_PRELOAD,
  KvGuardError,
  kvGuardLines,
  kvViolations,
} from "../../fakes/kv_guard.ts";
import { startHarness } from "../helpers.ts";

/** Runs `body` on a guarded in-memory KV and returns the violations it left (then forgets them). */
async function violationsOf(body: (kv: Deno.Kv) => Promise<void>): Promise<string[]> {
  const before = kvViolations.length;
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    await body(kv);
  } finally {
    kv.close();
  }
  return kvViolations.splice(before).map((v) => v.message);
}

function withChecks(kv: Deno.Kv, n: number): Deno.AtomicOperation {
  const op = kv.atomic();
  for (let i = 0; i < n; i++) op.check({ key: ["k", i], versionstamp: null });
  return op;
}

Deno.test("kv guard - 10 checks commit, 11 are refused as denokv would refuse them", async () => {
  const seen = await violationsOf(async (kv) => {
    assert.equal((await withChecks(kv, 10).set(["ten"], 1).commit()).ok, true);
    // Checks given in one call count one by one.
    const many = Array.from({ length: 11 }, (_, i) => ({ key: ["k", i], versionstamp: null }));
    await assert.rejects(kv.atomic().check(...many).set(["eleven"], 1).commit(), KvGuardError);
    await assert.rejects(withChecks(kv, 11).commit(), /11 checks/);
    assert.equal((await kv.get(["eleven"])).versionstamp, null, "nothing was written");
  });
  assert.equal(seen.length, 2);
  assert.match(seen[0], /KV guard violation: an atomic operation has 11 checks/);
});

Deno.test("kv guard - a violation is kept with the stack of the code that committed", async () => {
  const before = kvViolations.length;
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    await assert.rejects(withChecks(kv, 11).commit());
    assert.throws(() => assertNoKvViolations(before), /1 KV operation\(s\) would fail/);
    assert.match(kvViolations[before].stack, /kv_guard_test\.ts/);
  } finally {
    kv.close();
    kvViolations.splice(before);
  }
  assertNoKvViolations(before);
});

Deno.test("kv guard - 1,000 mutations commit, 1,001 are refused; mutate() counts each", async () => {
  const seen = await violationsOf(async (kv) => {
    const op = kv.atomic();
    for (let i = 0; i < 998; i++) op.set(["m", i], i);
    op.sum(["total"], 1n).max(["top"], 2n);
    assert.equal((await op.commit()).ok, true);

    const over = kv.atomic();
    for (let i = 0; i < 999; i++) over.delete(["m", i]);
    over.mutate({ type: "set", key: ["a"], value: 1 }, {
      type: "min",
      key: ["b"],
      value: new Deno.KvU64(1n),
    });
    await assert.rejects(over.commit(), /1001 mutations/);
    assert.equal((await kv.get(["m", 0])).value, 0, "nothing was deleted");
  });
  assert.equal(seen.length, 1);
});

Deno.test("kv guard - queues are refused: enqueue in an atomic operation and on the handle", async () => {
  const seen = await violationsOf(async (kv) => {
    await assert.rejects(kv.atomic().set(["a"], 1).enqueue("job").commit(), /enqueues/);
    await assert.rejects(kv.enqueue("job"), /kv\.enqueue\(\)/);
    await assert.rejects(kv.listenQueue(() => {}), /kv\.listenQueue\(\)/);
    // Everything else passes through to the real KV.
    await kv.set(["a"], 2);
    assert.equal((await kv.get(["a"])).value, 2);
    assert.equal(guardKv(kv), kv, "a guarded KV is not wrapped twice");
  });
  assert.equal(seen.length, 3);
});

Deno.test("kv guard - a child process run with the preload has every KV it opens guarded", async () => {
  const script = `
    const kv = await Deno.openKv(":memory:");
    const op = kv.atomic();
    for (let i = 0; i < 11; i++) op.check({ key: ["k", i], versionstamp: null });
    await op.commit().then(() => console.log("committed"), () => console.log("refused"));
  `;
  const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-kv", ...KV_GUARD_PRELOAD, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout).trim();
  const err = new TextDecoder().decode(stderr).split("\n");
  assert.equal(out, "refused", err.join("\n"));
  assert.equal(kvGuardLines(err).length, 1);
  assert.match(kvGuardLines(err)[0], /11 checks/);
});

Deno.test("kv guard - every harness is guarded: a swallowed violation still fails it at the end", async () => {
  const before = kvViolations.length;
  const h = await startHarness();
  try {
    // A background job that logs its error and goes on would hide it; the harness does not.
    await withChecks(h.ctx.kv, 11).commit().catch(() => {});
    await assert.rejects(
      async () => await h[Symbol.asyncDispose](),
      /1 KV operation\(s\) would fail on Deno Deploy/,
    );
  } finally {
    kvViolations.splice(before);
  }
});
