import assert from "node:assert/strict";
import { ERASURE_SETTLE_MS, resumeErasures } from "../../core/account/erase.ts";
import { ulid } from "../../core/ids.ts";
import { addEventWrites } from "../../core/live/emit.ts";
import { EVENT_LOG_TTL_MS, eventsOf, listUserEvents } from "../../kv/event_log.ts";
import { listRecentEvents, type StoredEvent } from "../../kv/events.ts";
import { keys } from "../../kv/keys.ts";
import { Writes } from "../../kv/writes.ts";
import { type Harness, type SignInBody, startHarness } from "../helpers.ts";
import { recordCommits, setsIn } from "../kv/record_commits.ts";
import { ADMIN, call, json } from "../routes/admin_helpers.ts";
import { assertErased } from "./kv_dump.ts";

const ENV = {
  ADMIN_PHONES: ADMIN,
  OTP_RESEND_COOLDOWN_SECONDS: "0",
  OTP_RATE_LIMIT_PER_HOUR: "1000",
  OTP_IP_RATE_LIMIT_PER_HOUR: "1000",
};
const PHONES = ["+14155550151", "+14155550152", "+14155550153"];

/** Erases the signed-in user and lets the sweep end it. */
async function erase(h: Harness, user: SignInBody): Promise<void> {
  const res = await call(h, "DELETE", "/api/v1/me", { token: user.access_token });
  assert.equal(res.status, 204, await res.text());
}

async function settle(h: Harness): Promise<void> {
  h.clock.advance(ERASURE_SETTLE_MS);
  await resumeErasures(h.ctx);
}

/** Commits one event naming each of `userIds`, all in one commit (so they share entries). */
async function logFor(h: Harness, userIds: string[]): Promise<StoredEvent[]> {
  const now = h.clock.now();
  const w = new Writes();
  const events = userIds.map((userId) => {
    const event = h.ctx.bus.newEvent("user", "user.updated", now, { user_id: userId });
    addEventWrites(w, event, now);
    return event;
  });
  assert.ok(await h.ctx.commits.commit(w));
  return events;
}

/** The ids of the log's events (that `where` takes), newest first. */
async function logIds(h: Harness, where: (e: StoredEvent) => boolean = () => true) {
  return (await listRecentEvents(h.ctx.kv, 100_000)).filter(where).map((e) => e.id);
}

Deno.test("event log - a verify's commit files its two events in one log entry and one of its user's", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = recordCommits(kv);
  await using h = await startHarness({ env: ENV, kv });
  const { requestId, code } = await h.requestCode(PHONES[0]);
  const from = commits.length;
  const res = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
  const userId = (await json(res)).user as { id: string };
  const verify = commits.slice(from).find((commit) =>
    setsIn(commit, "events").some((set) =>
      eventsOf(set.value).some((e) => e.data.type === "otp.verified")
    )
  );
  assert.ok(verify, "the verify's commit");
  const log = setsIn(verify, "events");
  assert.equal(log.length, 1);
  assert.equal(eventsOf(log[0].value).length, 2);
  assert.equal(log[0].expireIn, EVENT_LOG_TTL_MS);
  const own = setsIn(verify, "events_by_user");
  assert.deepEqual(own.map((set) => set.key), [keys.userEvent(userId.id, String(log[0].key[1]))]);
  assert.equal(eventsOf(own[0].value).length, 2);
});

Deno.test("event log - entries of before the batching are listed, and go with an erasure", async () => {
  await using h = await startHarness({ env: ENV });
  const kv = h.ctx.kv;
  const [user, other] = [await h.signIn(PHONES[0]), await h.signIn(PHONES[1])];
  // As the old addEvent wrote them: one event an entry, under its own id, and its user's copy.
  const old: Record<string, string[]> = { [user.user.id]: [], [other.user.id]: [] };
  for (let i = 0; i < 6; i++) {
    for (const userId of Object.keys(old)) {
      const at = h.clock.now() - (i + 1) * 60_000;
      const e = {
        id: ulid(at),
        instance: "old",
        kind: "presence",
        data: { type: "presence.online", at: new Date(at).toISOString(), user_id: userId },
      };
      await kv.set(keys.event(e.id), e, { expireIn: EVENT_LOG_TTL_MS });
      await kv.set(keys.userEvent(userId, e.id), e, { expireIn: EVENT_LOG_TTL_MS });
      old[userId].push(e.id);
    }
  }
  const logged = await logIds(h);
  for (const ids of Object.values(old)) for (const id of ids) assert.ok(logged.includes(id));
  // The admin's page of the user and the user's own export show them.
  const admin = await h.signIn(ADMIN);
  const detail = await json(
    await call(h, "GET", `/api/v1/admin/users/${user.user.id}`, { token: admin.access_token }),
  );
  const shown = (detail.events as { id: string }[]).map((e) => e.id);
  for (const id of old[user.user.id]) assert.ok(shown.includes(id), `${id} on the user's page`);
  const exported = await json(await h.get("/api/v1/me/export", { token: user.access_token }));
  const mine = (exported.events as { id: string }[]).map((e) => e.id);
  for (const id of old[user.user.id]) assert.ok(mine.includes(id), `${id} in the export`);

  await erase(h, user);
  await settle(h);
  await assertErased(kv, { userId: user.user.id, contacts: [PHONES[0]] });
  const left = await logIds(h);
  for (const id of old[user.user.id]) assert.ok(!left.includes(id), `${id} erased`);
  for (const id of old[other.user.id]) assert.ok(left.includes(id), `${id} of the other stays`);
  const others = (await listUserEvents(kv, other.user.id, 1_000)).map((e) => e.id);
  for (const id of old[other.user.id]) assert.ok(others.includes(id));
});

Deno.test("event log - erasures take their users' events out of shared entries while others commit", async () => {
  using kv = await Deno.openKv(":memory:");
  const commits = recordCommits(kv);
  await using h = await startHarness({ env: ENV, kv });
  const signedIn = [];
  for (const phone of PHONES) signedIn.push(await h.signIn(phone));
  const [a, b, c] = signedIn.map((u) => u.user.id);
  const before: StoredEvent[] = [];
  for (let i = 0; i < 20; i++) before.push(...await logFor(h, [a, b, c, b]));
  const shared = (await Array.fromAsync(kv.list({ prefix: keys.events() }))).filter((entry) => {
    const named = new Set(eventsOf(entry.value).map((e) => e.data.user_id));
    return named.has(a) && named.has(b) && named.has(c);
  });
  assert.ok(shared.length >= 20, "the users' events share log entries");
  // An hour on, so a rewritten entry keeps what is left of its 24 h; fresh sign-ins to erase.
  h.clock.advance(3_600_000);
  const [eraseA, , eraseC] = [await h.signIn(PHONES[0]), null, await h.signIn(PHONES[2])];
  const from = commits.length;
  let going = true;
  const more = (async () => {
    const out: StoredEvent[] = [];
    while (going) out.push(...await logFor(h, [b, b]));
    return out;
  })();
  // Two erasures rewriting the same entries at once (checked writes: one retries).
  await Promise.all([erase(h, eraseA), erase(h, eraseC)]);
  going = false;
  const later = await more;
  assert.ok(later.length > 0, "others committed meanwhile");
  await settle(h);

  for (const [userId, phone] of [[a, PHONES[0]], [c, PHONES[2]]]) {
    await assertErased(kv, { userId, contacts: [phone] });
    const named = await logIds(h, (e) => e.data.user_id === userId);
    const kept = await logIds(
      h,
      (e) => e.data.user_id === userId && e.data.type === "user.deleted",
    );
    assert.deepEqual(named, kept, "only the erasure's own event names them");
    assert.equal(kept.length, 1);
    assert.deepEqual(await listUserEvents(kv, userId, 100), []);
  }
  // Every event of the user who stays is still there, in the log and under them.
  const bIds = await logIds(h, (e) => e.data.user_id === b);
  for (const e of [...before, ...later]) {
    if (e.data.user_id === b) assert.ok(bIds.includes(e.id), `${e.id} of the other stays`);
  }
  assert.deepEqual((await listUserEvents(kv, b, 100_000)).map((e) => e.id), bIds);
  // Rewritten entries keep what was left of their day (an hour gone), never more.
  const rewritten = commits.slice(from).flatMap((commit) => setsIn(commit, "events"))
    .filter((set) => shared.some((entry) => entry.key[1] === set.key[1]));
  assert.ok(rewritten.length >= 20);
  for (const set of rewritten) {
    assert.ok(set.expireIn! <= EVENT_LOG_TTL_MS - 3_600_000, `${set.expireIn}`);
    assert.ok(set.expireIn! > EVENT_LOG_TTL_MS - 3_600_000 - 60_000, `${set.expireIn}`);
  }
});
