import assert from "node:assert/strict";
import { CRON_JOBS } from "../../core/jobs/cron.ts";
import { keys } from "../../kv/keys.ts";
import { addIpCount, addIpRefund } from "../../kv/limits.ts";
import { addSmsSent, addSmsVerified } from "../../kv/sms_protection.ts";
import { addStatCounts } from "../../kv/stats.ts";
import { addTestRecipientFailure } from "../../kv/test_recipients.ts";
import {
  addDelivered,
  addGivenUp,
  addOutboxEntries,
  type HeldEntry,
  type OutboxEntry,
} from "../../kv/event_webhooks.ts";
import { PROJECT_ROOT } from "../../web/assets.ts";
import { startHarness } from "../helpers.ts";

const DAY_MS = 86_400_000;

/**
 * Every key family written with `sum`, by its key builder in kv/keys.ts. A family keyed by time
 * is written through the real kv helper (the one requests use) at `at`; a gauge is one key
 * that goes up and down, so it cannot grow.
 */
const SUM_FAMILIES: Record<
  string,
  { gauge: true } | { write(kv: Deno.Kv, at: number): Promise<void> }
> = {
  userCount: { gauge: true },
  onlineCount: { gauge: true },
  webhookPending: { gauge: true },
  ipCounter: {
    async write(kv, at) {
      const op = addIpCount(
        addIpCount(kv.atomic(), "requests", "198.51.100.7", at),
        "failures",
        "198.51.100.7",
        at,
      );
      await commit(addIpRefund(op, "198.51.100.8", at));
    },
  },
  stat: { write: (kv, at) => commit(addStatCounts(kv.atomic(), at, ["requested", "failed"])) },
  statHour: { write: (kv, at) => commit(addStatCounts(kv.atomic(), at, ["verified"])) },
  smsRangeCount: {
    write: (kv, at) => commit(addSmsVerified(addSmsSent(kv.atomic(), "+1415", at), "+1415", at)),
  },
  smsDay: { write: (kv, at) => commit(addSmsSent(kv.atomic(), "+1650", at)) },
  webhookCount: {
    async write(kv, at) {
      for (const outcome of ["delivered", "failed"] as const) {
        const held = await outboxEntry(kv, at, `${outcome}-${at}`);
        await commit(
          outcome === "delivered"
            ? addDelivered(kv.atomic(), held, at)
            : addGivenUp(kv.atomic(), held, { at, error: "HTTP 500" }),
        );
      }
    },
  },
  testRecipientFailures: {
    write: (kv, at) => commit(addTestRecipientFailure(kv.atomic(), "phone:+14155550123", at)),
  },
};

async function commit(op: Deno.AtomicOperation): Promise<void> {
  assert.ok((await op.commit()).ok);
}

/** An event put in the outbox the way the group committer does, read back as a sweep holds it. */
async function outboxEntry(kv: Deno.Kv, at: number, id: string): Promise<HeldEntry> {
  const entry: OutboxEntry = {
    event: { id, type: "user.updated", at: new Date(at).toISOString(), data: {} },
    createdAt: at,
    dueAt: at,
    attempts: 0,
    leasedBy: null,
    lastError: null,
  };
  await commit(addOutboxEntries(kv.atomic(), [entry]));
  const read = await kv.get<OutboxEntry>(keys.webhookOutbox(at, id));
  return { entry: read.value!, versionstamp: read.versionstamp! };
}

/** The collection (first key part) a key builder writes under, from a call with sample args. */
function collectionOf(name: string): string {
  const builder = (keys as unknown as Record<string, (...args: unknown[]) => Deno.KvKey>)[name];
  const samples: unknown[] = [0, "x", "requests"];
  return String(builder(...samples.slice(0, builder.length))[0]);
}

async function keysUnder(kv: Deno.Kv, collection: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of kv.list({ prefix: [collection] })) out.push(JSON.stringify(entry.key));
  return out.sort();
}

/** The key builders used with `sum` in kv/ (and nowhere else but the group committer's merge). */
async function sumFamiliesInCode(): Promise<Set<string>> {
  const found = new Set<string>();
  for (const dir of ["kv", "core", "routes"]) {
    for await (const file of walk(`${PROJECT_ROOT}/${dir}`)) {
      const source = await Deno.readTextFile(file);
      for (const call of source.matchAll(/\.sum\(\s*([^,]*)/g)) {
        const named = /^keys\.(\w+)\(/.exec(call[1]);
        if (named) found.add(named[1]);
        // Writes recorded elsewhere, merged per key: their keys are the ones counted above.
        else if (!(file.endsWith("kv/group_commit.ts") && call[1] === "sum.key")) {
          assert.fail(`${file}: a sum whose key is not a keys.* builder: ${call[0]}`);
        }
      }
    }
  }
  return found;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (/\.tsx?$/.test(entry.name)) yield path;
  }
}

Deno.test("prune of every sum family - the families in the code are the ones this test covers", async () => {
  const inCode = await sumFamiliesInCode();
  assert.deepEqual(
    [...inCode].sort(),
    Object.keys(SUM_FAMILIES).sort(),
    "a family summed in kv/ needs a pruner (core/jobs/prune.ts) and a row here",
  );
  for (const [name, family] of Object.entries(SUM_FAMILIES)) {
    if ("gauge" in family) {
      const builder = (keys as unknown as Record<string, () => Deno.KvKey>)[name];
      assert.equal(builder.length, 0, `${name}: a gauge is one key, built from nothing`);
    }
  }
});

Deno.test("prune of every sum family - the cron job deletes what is old of each and keeps what is read", async () => {
  await using h = await startHarness();
  const { kv } = h.ctx;
  const now = h.clock.now();
  const timed = Object.entries(SUM_FAMILIES).flatMap(([name, family]) =>
    "write" in family ? [{ name, collection: collectionOf(name), write: family.write }] : []
  );

  // What is still read now, and what no reader looks at any more: 10 days is past every
  // family's time (the longest, hourly stats, is 8 days).
  for (const family of timed) await family.write(kv, now);
  const recent = new Map<string, string[]>();
  for (const family of timed) recent.set(family.name, await keysUnder(kv, family.collection));
  for (const family of timed) {
    assert.ok(recent.get(family.name)!.length > 0, `${family.name}: nothing written`);
    await family.write(kv, now - 10 * DAY_MS);
    const all = await keysUnder(kv, family.collection);
    assert.ok(all.length > recent.get(family.name)!.length, `${family.name}: no old entry written`);
  }

  const prune = CRON_JOBS.find((job) => job.name === "counters prune");
  assert.ok(prune, "the cron job that prunes counters");
  await prune.run(h.ctx);

  for (const family of timed) {
    assert.deepEqual(
      await keysUnder(kv, family.collection),
      recent.get(family.name),
      `${family.name}: old entries left, or recent ones deleted`,
    );
  }
});
