import assert from "node:assert/strict";
import { addEvent, listInstanceEvents, type StoredEvent } from "../../kv/events.ts";
import { GroupCommitter, LOCAL_LIMITS } from "../../kv/group_commit.ts";
import { Writes } from "../../kv/writes.ts";

/** An event of instance "i" numbered `n`. */
function loggedEvent(n: number): StoredEvent {
  return {
    id: `evt_${String(n).padStart(6, "0")}`,
    instance: "i",
    kind: "otp",
    data: { type: "otp.sent", at: "2026-12-01T10:00:00.000Z", n },
  };
}

/** Every event of instance "i" in the ordered log, in order. */
async function orderedEvents(kv: Deno.Kv): Promise<number[]> {
  const entries = await listInstanceEvents(kv, "i", { after: -1, limit: 1000 });
  return entries.flatMap((entry) => entry.events.map((event) => event.data.n as number));
}

/** `promise`, or a rejection naming `what` after `ms`: a hang fails the test instead. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

Deno.test("GroupCommitter - bad writes sharing a batch each fail alone; every other caller is answered", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const committer = new GroupCommitter(kv, { limits: LOCAL_LIMITS, instance: "i" });
    await kv.set(["text"], "not a number");
    const stale = await kv.get(["guard"]);
    await kv.set(["guard"], "changed");
    // The first commits at once; all the rest queue behind it and go out together.
    const first = committer.commit(new Writes().set(["first"], 1));
    const bad: [string, Writes, RegExp][] = [
      ["value too large", new Writes().set(["big"], "x".repeat(70_000)), /Value too large/],
      ["key too large", new Writes().set(["key", "k".repeat(3_000)], 1), /Key too large/],
      ["value not cloneable", new Writes().set(["fn"], () => 1), /could not be cloned/],
      ["expireIn refused", new Writes().set(["exp"], 1, { expireIn: -1 }), /expireIn/],
      ["sum on a string", new Writes().sum(["text"], 1n), /non-U64/],
      ["malformed check", new Writes().check({ key: ["c"], versionstamp: "zz" }), /Invalid check/],
    ];
    const good = Array.from({ length: 10 }, (_, i) => {
      const w = new Writes().set(["ok", i], i);
      addEvent(w, loggedEvent(i));
      return w;
    });
    const answers = [
      ...bad.map(([what, w]) => within(committer.commit(w), 5_000, what)),
      within(committer.commit(new Writes().check(stale).set(["lost"], 1)), 5_000, "stale check"),
      ...good.map((w, i) => within(committer.commit(w), 5_000, `good write ${i}`)),
    ];
    const settled = await Promise.allSettled(answers);
    assert.ok(typeof await first === "string");
    bad.forEach(([what, , message], i) => {
      const result = settled[i];
      assert.equal(result.status, "rejected", what);
      assert.match(String((result as PromiseRejectedResult).reason), message, what);
    });
    assert.deepEqual(settled[bad.length], { status: "fulfilled", value: null }, "stale check");
    for (const result of settled.slice(bad.length + 1)) {
      assert.equal(result.status, "fulfilled", String((result as PromiseRejectedResult).reason));
      assert.match(String(result.value), /^[0-9a-f]{20}$/);
    }
    for (let i = 0; i < 10; i++) assert.equal((await kv.get(["ok", i])).value, i);
    for (const key of [["big"], ["fn"], ["exp"], ["lost"]]) {
      assert.equal((await kv.get(key)).value, null, key.join());
    }
    assert.equal((await kv.get(["text"])).value, "not a number");
    assert.deepEqual(await orderedEvents(kv), Array.from({ length: 10 }, (_, i) => i));
    // And it keeps committing.
    assert.ok(
      typeof await within(committer.commit(new Writes().set(["after"], 1)), 5_000, "after"),
    );
    await within(committer.flush(), 5_000, "flush");
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - ungrouped, a write that cannot be built fails alone and the next commits", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const committer = new GroupCommitter(kv, { grouped: false });
    const [bad, good] = await Promise.allSettled([
      within(committer.commit(new Writes().set(["fn"], () => 1)), 5_000, "bad"),
      within(committer.commit(new Writes().set(["ok"], 1)), 5_000, "good"),
    ]);
    assert.equal(bad.status, "rejected");
    assert.match(String((bad as PromiseRejectedResult).reason), /could not be cloned/);
    assert.equal(good.status, "fulfilled");
    assert.equal((await kv.get(["ok"])).value, 1);
  } finally {
    kv.close();
  }
});
