import assert from "node:assert/strict";
import { ulid } from "../../core/ids.ts";
import {
  EVENT_ENTRY_SPAN_MS,
  EVENT_LOG_TTL_MS,
  eventsOf,
  listUserEvents,
} from "../../kv/event_log.ts";
import { addEvent, eachEvent, listEventsAfter, listRecentEvents } from "../../kv/events.ts";
import { GroupCommitter } from "../../kv/group_commit.ts";
import { keys } from "../../kv/keys.ts";
import type { StoredEvent } from "../../kv/stored_event.ts";
import { Writes } from "../../kv/writes.ts";
import { recordCommits, setsIn } from "./record_commits.ts";

const T0 = Date.UTC(2026, 11, 1, 12);

function event(id: string, userId?: string): StoredEvent {
  const at = new Date(T0).toISOString();
  return {
    id,
    instance: "test",
    kind: "presence",
    data: { type: "presence.online", at, ...(userId ? { user_id: userId } : {}) },
  };
}

Deno.test("event log - a group commit files its events 16 to an entry, and each user's beside them", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = recordCommits(kv);
  const committer = new GroupCommitter(kv, { instance: "a" });
  const users = ["usr_a", "usr_b", "usr_c"];
  // Contributions of one to three events each, all submitted at once: they queue up behind
  // the first commit and share the next.
  const logged: StoredEvent[] = [];
  const contributions = Array.from({ length: 60 }, (_, i) => {
    const w = new Writes();
    for (let j = 0; j <= i % 3; j++) {
      const e = event(ulid(T0 + (i % 5)), i % 4 === 0 ? undefined : users[(i + j) % 3]);
      logged.push(e);
      addEvent(w, e);
    }
    return w;
  });
  const answers = await Promise.all(contributions.map((w) => committer.commit(w)));
  assert.ok(answers.every((versionstamp) => versionstamp !== null));
  let biggest = 0;
  for (const commit of commits) {
    const log = setsIn(commit, "events");
    const events = log.flatMap((set) => eventsOf(set.value));
    biggest = Math.max(biggest, events.length);
    assert.ok(log.length <= Math.ceil(events.length / 16), `${log.length} for ${events.length}`);
    for (const set of log) {
      // Under its largest id, in order.
      const ids = eventsOf(set.value).map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort());
      assert.equal(set.key[1], ids.at(-1));
    }
    // Per user, one entry for each log entry that names them, under the same id.
    const perUser = setsIn(commit, "events_by_user");
    const expected = log.flatMap((set) =>
      [...new Set(eventsOf(set.value).map((e) => e.data.user_id).filter(Boolean))]
        .map((userId) => `${userId}/${String(set.key[1])}`)
    );
    assert.deepEqual(
      perUser.map((set) => `${String(set.key[1])}/${String(set.key[2])}`).sort(),
      expected.sort(),
    );
  }
  assert.ok(biggest > 16, `some commit carried more than one entry's events: ${biggest}`);
  // Everything logged is read back once, newest first.
  const all = logged.map((e) => e.id).sort().reverse();
  assert.deepEqual((await listRecentEvents(kv, 1_000)).map((e) => e.id), all);
  const exported: string[] = [];
  for await (const e of eachEvent(kv)) exported.push(e.id);
  assert.deepEqual(exported, all);
  for (const userId of users) {
    const own = logged.filter((e) => e.data.user_id === userId).map((e) => e.id).sort().reverse();
    assert.deepEqual((await listUserEvents(kv, userId, 1_000)).map((e) => e.id), own);
    assert.deepEqual((await listUserEvents(kv, userId, 5)).map((e) => e.id), own.slice(0, 5));
  }
});

Deno.test("event log - events made far apart share no entry; a lone commit files one an entry", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = recordCommits(kv);
  const committer = new GroupCommitter(kv);
  const w = new Writes();
  const ids = [ulid(T0), ulid(T0 + 10), ulid(T0 + EVENT_ENTRY_SPAN_MS + 11)];
  for (const id of ids) addEvent(w, event(id, "usr_a"));
  assert.equal(w.size, 9, "each event counted as filed alone: ordered copy, log, user");
  assert.ok(await committer.commit(w));
  const log = setsIn(commits[0], "events").map((set) => eventsOf(set.value).map((e) => e.id));
  assert.deepEqual(log, [ids.slice(0, 2), ids.slice(2)]);
});

/**
 * A log of entries of before the batching (one event under its id, as the old code wrote
 * them) and batched commits of two instances whose ids interleave, some events made over a
 * second apart. Returns every event id.
 */
async function mixedLog(kv: Deno.Kv): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const e = event(ulid(T0 + i * 97), i % 2 ? "usr_old" : undefined);
    await kv.set(keys.event(e.id), e, { expireIn: EVENT_LOG_TTL_MS });
    ids.push(e.id);
  }
  const committers = [
    new GroupCommitter(kv, { instance: "a" }),
    new GroupCommitter(kv, { instance: "b" }),
  ];
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 150; i++) {
    const w = new Writes();
    // Random ids of the same few ms: two commits' entries overlap in id.
    for (let j = 0; j < 1 + (i % 4); j++) {
      const e = event(ulid(T0 + (i % 37) * 101 + (j === 3 ? 1_500 : 0)), `usr_${i % 3}`);
      addEvent(w, e);
      ids.push(e.id);
    }
    writes.push(committers[i % 2].commit(w));
    if (i % 25 === 0) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  return ids.sort();
}

Deno.test("event log - pages with `before` through old and batched entries: each event once, newest first", async () => {
  using kv = await Deno.openKv(":memory:");
  const all = (await mixedLog(kv)).reverse();
  let entries = 0;
  for await (const _ of kv.list({ prefix: keys.events() })) entries++;
  assert.ok(entries < all.length - 40, `batched: ${entries} entries for ${all.length} events`);
  for (const limit of [1, 7, 16, 17, 50]) {
    const read: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = (await listRecentEvents(kv, limit, before)).map((e) => e.id);
      assert.ok(page.length <= limit);
      read.push(...page);
      if (page.length < limit) break;
      before = page.at(-1);
    }
    assert.deepEqual(read, all, `pages of ${limit}`);
  }
  // A cursor that is any id (not only one read): exactly those below it.
  for (const cursor of [all[3], all[100], all.at(-1)!]) {
    assert.deepEqual(
      (await listRecentEvents(kv, 30, cursor)).map((e) => e.id),
      all.filter((id) => id < cursor).slice(0, 30),
    );
  }
});

Deno.test("event log - listEventsAfter through old and batched entries: oldest first, none missed", async () => {
  using kv = await Deno.openKv(":memory:");
  const all = await mixedLog(kv);
  for (const limit of [1, 5, 16, 33, 1_000]) {
    for (const after of ["0", all[0], all[17], all[120], all.at(-2)!, all.at(-1)!]) {
      assert.deepEqual(
        (await listEventsAfter(kv, after, limit)).map((e) => e.id),
        all.filter((id) => id > after).slice(0, limit),
        `after ${after}, ${limit}`,
      );
    }
    // Resuming from the last one read, page by page, reads the whole log.
    const read: string[] = [];
    let after = "0";
    for (;;) {
      const page = (await listEventsAfter(kv, after, limit)).map((e) => e.id);
      read.push(...page);
      if (page.length < limit) break;
      after = page.at(-1)!;
    }
    assert.deepEqual(read, all);
  }
  // Old per-user entries and batched ones read together.
  await kv.set(keys.userEvent("usr_0", all[0]), event(all[0], "usr_0"));
  const own = await listUserEvents(kv, "usr_0", 1_000);
  assert.equal(own.at(-1)?.id, all[0]);
  assert.deepEqual(own.map((e) => e.id), [...own.map((e) => e.id)].sort().reverse());
});

Deno.test("event log - a commit's log entries count within its mutation cap", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = recordCommits(kv);
  const limits = { maxChecks: 100, maxMutations: 20, maxKeyBytes: 40_000 };
  const committer = new GroupCommitter(kv, { instance: "a", limits });
  const contributions = Array.from({ length: 40 }, (_, i) => {
    const w = new Writes().set(["thing", i], i);
    // Events made over a second apart never share an entry: the most a commit may need.
    for (let j = 0; j < 2; j++) addEvent(w, event(ulid(T0 + i * 5_000 + j * 2_000), `usr_${i}`));
    return w;
  });
  assert.ok((await Promise.all(contributions.map((w) => committer.commit(w)))).every(Boolean));
  assert.ok(
    commits.every((commit) => commit.length <= limits.maxMutations),
    `${commits.map((c) => c.length)}`,
  );
  assert.ok(commits.some((commit) => commit.length > 7), "contributions still share commits");
  assert.equal((await listRecentEvents(kv, 1_000)).length, 80);
});
