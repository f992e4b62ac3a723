import assert from "node:assert/strict";
import { GroupCommitter } from "../../kv/group_commit.ts";
import { addEvent, type StoredEvent } from "../../kv/events.ts";
import { keys } from "../../kv/keys.ts";
import type { HeldEntry, OutboxEntry } from "../../kv/event_webhooks.ts";
import { Writes } from "../../kv/writes.ts";
import { startHarness } from "../helpers.ts";
import { guardKv } from "../../fakes/kv_guard.ts";
import { startEventReceiver } from "./receiver.ts";

function event(n: number, type: string): StoredEvent {
  return {
    id: `01JX${String(n).padStart(22, "0")}`,
    instance: "i",
    kind: type.split(".")[0],
    data: { type, at: "2026-11-21T10:00:00.000Z", n },
  };
}

/** An outbox that takes `otp.*` and records what it is told. */
function recordingOutbox() {
  const told: HeldEntry[][] = [];
  return {
    told,
    entryFor(e: StoredEvent): OutboxEntry | null {
      if (!e.data.type.startsWith("otp.")) return null;
      const { type, at, ...data } = e.data;
      return {
        event: { id: e.id, type, at, data },
        createdAt: 0,
        dueAt: 10,
        attempts: 0,
        leasedBy: null,
        lastError: null,
      };
    },
    committed(held: HeldEntry[]) {
      told.push(held);
    },
  };
}

Deno.test("GroupCommitter - an event that goes out gets its outbox entry in the event's own commit", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const outbox = recordingOutbox();
    const committer = new GroupCommitter(kv, { outbox });
    const w = new Writes().set(["change"], 1);
    addEvent(w, event(1, "otp.verified"));
    addEvent(w, event(2, "presence.online"));
    const versionstamp = await committer.commit(w);
    assert.equal(committer.stats.commits, 1);
    const entry = await kv.get<OutboxEntry>(keys.webhookOutbox(10, event(1, "").id));
    assert.equal(entry.versionstamp, versionstamp, "written by the same commit");
    assert.deepEqual(entry.value?.event.data, { n: 1 });
    assert.equal((await kv.get(keys.webhookOutbox(10, event(2, "").id))).value, null);
    assert.equal((await kv.get<Deno.KvU64>(keys.webhookPending())).value?.value, 1n);
    assert.deepEqual(outbox.told, [[{ entry: entry.value, versionstamp }]]);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - outbox entries count toward a commit's 1000 mutations", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const committer = new GroupCommitter(kv, { outbox: recordingOutbox(), instance: "i" });
    // Each: a write and 8 events, every event logged, copied in order, and put in the outbox.
    const all = Array.from({ length: 100 }, (_, i) => {
      const w = new Writes().set(["change", i], i);
      for (let j = 0; j < 8; j++) addEvent(w, event(i * 8 + j, "otp.sent"));
      return committer.commit(w);
    });
    await Promise.all(all);
    assert.ok(committer.stats.commits >= 3, `${committer.stats.commits} commits`);
    const pending = await kv.get<Deno.KvU64>(keys.webhookPending());
    assert.equal(pending.value?.value, 800n);
  } finally {
    kv.close();
  }
});

Deno.test("event webhooks - a verify whose event goes out is still one commit", async () => {
  await using receiver = await startEventReceiver("s");
  await using h = await startHarness({
    env: { EVENT_WEBHOOK_URL: receiver.url, EVENT_WEBHOOK_TYPES: "otp.verified" },
  });
  const { requestId, code } = await h.requestCode("+14155550100");
  await h.ctx.commits.flush();
  // Nothing sends: the only commit is the verify's own.
  await h.ctx.webhooks!.stop();
  const before = h.ctx.commits.stats.commits;
  const res = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(h.ctx.commits.stats.commits - before, 1);
  const entries = await Array.fromAsync(h.ctx.kv.list<OutboxEntry>({
    prefix: keys.webhookOutboxAll(),
  }));
  assert.deepEqual(entries.map((e) => e.value.event.type), ["otp.verified"]);
});
