import assert from "node:assert/strict";
import { sweepPresence } from "../../core/presence/presence.ts";
import { listEventsAfter } from "../../kv/events.ts";
import { readOnlineCount } from "../../kv/presence.ts";
import { errorOf, recordEvents, startHarness, waitFor } from "../helpers.ts";

const PHONE = "+14155550100";

Deno.test("presence - a user is online from sign-in", async () => {
  await using h = await startHarness();
  const events = recordEvents(h);
  const session = await h.signIn(PHONE);
  const res = await h.get(`/api/v1/presence?user_ids=${session.user.id}`, {
    token: session.access_token,
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    users: [{ user_id: session.user.id, status: "online", last_seen: "2026-11-21T10:00:00.000Z" }],
  });
  assert.deepEqual(
    events.filter((e) => e.type.startsWith("presence")).map((e) => [e.type, e.user_id]),
    [["presence.online", session.user.id]],
  );
  assert.equal(await readOnlineCount(h.ctx.kv), 1);
});

Deno.test("presence - silence takes a user offline exactly after the timeout", async () => {
  await using h = await startHarness();
  const events = recordEvents(h);
  const session = await h.signIn(PHONE);
  const id = session.user.id;
  const status = async () =>
    (await (await h.get(`/api/v1/presence?user_ids=${id}`, { token: session.access_token }))
      .json()).users[0];
  h.clock.advance(119_999);
  assert.equal((await status()).status, "online");
  h.clock.advance(1);
  const offline = await status();
  assert.equal(offline.status, "offline");
  assert.equal(offline.last_seen, "2026-11-21T10:00:00.000Z", "last_seen survives going offline");
  await waitFor(() => events.some((e) => e.type === "presence.offline"));
  const event = events.find((e) => e.type === "presence.offline")!;
  assert.equal(event.at, "2026-11-21T10:02:00.000Z", "the deadline fires at the timeout");
  assert.equal(event.last_seen, "2026-11-21T10:00:00.000Z");
  assert.equal(await readOnlineCount(h.ctx.kv), 0);
});

Deno.test("presence - heartbeats keep a user online", async () => {
  await using h = await startHarness();
  const session = await h.signIn(PHONE);
  for (let i = 0; i < 5; i++) {
    h.clock.advance(100_000);
    const res = await h.post("/api/v1/presence/heartbeat", {}, { token: session.access_token });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body, {
      status: "online",
      last_seen: new Date(h.clock.now()).toISOString(),
      next_heartbeat_in: 30,
    });
  }
  h.clock.advance(119_000);
  const res = await h.get(`/api/v1/presence?user_ids=${session.user.id}`, {
    token: session.access_token,
  });
  assert.equal((await res.json()).users[0].status, "online");
});

Deno.test("presence - a heartbeat after the timeout brings the user back with both transitions", async () => {
  await using h = await startHarness();
  const session = await h.signIn(PHONE);
  h.ctx.presence.deadlines.stop(); // as if this instance had restarted: no sweep ran either
  h.clock.advance(300_000);
  const events = recordEvents(h);
  const res = await h.post("/api/v1/presence/heartbeat", {}, { token: session.access_token });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.deepEqual(events.map((e) => [e.type, e.at]), [
    ["presence.offline", "2026-11-21T10:02:00.000Z"],
    ["presence.online", "2026-11-21T10:05:00.000Z"],
  ]);
  assert.equal(await readOnlineCount(h.ctx.kv), 1);
});

Deno.test("presence - logout takes the user offline", async () => {
  await using h = await startHarness();
  const events = recordEvents(h);
  const session = await h.signIn(PHONE);
  const observer = await h.signIn("+14155550111");
  const out = await h.post("/api/v1/auth/logout", {}, { token: session.access_token });
  assert.equal(out.status, 204);
  const res = await h.get(`/api/v1/presence?user_ids=${session.user.id}`, {
    token: observer.access_token,
  });
  assert.equal((await res.json()).users[0].status, "offline");
  assert.ok(events.some((e) => e.type === "presence.offline" && e.user_id === session.user.id));
  assert.equal(await readOnlineCount(h.ctx.kv), 1);
});

Deno.test("presence - logout of one device keeps a user with another sign-in online", async () => {
  await using h = await startHarness();
  const phone = await h.signIn(PHONE);
  h.clock.advance(61_000);
  const laptop = await h.signIn(PHONE);
  await (await h.post("/api/v1/auth/logout", {}, { token: phone.access_token })).body?.cancel();
  const res = await h.get(`/api/v1/presence?user_ids=${laptop.user.id}`, {
    token: laptop.access_token,
  });
  assert.equal((await res.json()).users[0].status, "online");
});

Deno.test("presence - bulk query: unknown ids are offline and never seen; at most 100 ids", async () => {
  await using h = await startHarness();
  const session = await h.signIn(PHONE);
  const res = await h.get(
    `/api/v1/presence?user_ids=${session.user.id},usr_nobody,${session.user.id}`,
    { token: session.access_token },
  );
  assert.deepEqual((await res.json()).users, [
    { user_id: session.user.id, status: "online", last_seen: "2026-11-21T10:00:00.000Z" },
    { user_id: "usr_nobody", status: "offline", last_seen: null },
  ]);
  const many = Array.from({ length: 101 }, (_, i) => `usr_${i}`).join(",");
  for (const q of [`user_ids=${many}`, "user_ids=", "user_ids=a%20b", ""]) {
    const bad = await h.get(`/api/v1/presence?${q}`, { token: session.access_token });
    assert.equal(bad.status, 400, q);
    assert.equal((await errorOf(bad)).code, "VALIDATION_FAILED");
  }
  const hundred = Array.from({ length: 100 }, (_, i) => `usr_${i}`).join(",");
  const ok = await h.get(`/api/v1/presence?user_ids=${hundred}`, { token: session.access_token });
  assert.equal((await ok.json()).users.length, 100);
  assert.equal((await h.get(`/api/v1/presence?user_ids=x`)).status, 401);
});

Deno.test("presence - the sweep emits each offline transition once, run twice or on two instances", async () => {
  await using a = await startHarness();
  await using b = await startHarness({ kv: a.ctx.kv, clock: a.clock });
  const ids = [];
  for (const phone of ["+14155550101", "+14155550102", "+14155550103"]) {
    ids.push((await a.signIn(phone)).user.id);
  }
  // Instance a restarted: its in-process deadlines are gone; only the sweep remains.
  a.ctx.presence.deadlines.stop();
  a.clock.advance(121_000);
  const offline = await Promise.all([
    sweepPresence(a.ctx),
    sweepPresence(b.ctx),
    sweepPresence(a.ctx),
  ]);
  assert.equal(offline.reduce((x, y) => x + y, 0), 3);
  assert.equal(await sweepPresence(b.ctx), 0);
  const logged = (await listEventsAfter(a.ctx.kv, "0")).filter((e) =>
    e.data.type === "presence.offline"
  );
  assert.deepEqual(logged.map((e) => e.data.user_id).sort(), ids.sort());
  assert.equal(await readOnlineCount(a.ctx.kv), 0);
});

Deno.test("presence - the sweep walks only users recorded online", async () => {
  await using h = await startHarness();
  h.ctx.presence.deadlines.stop(); // only the sweep takes anyone offline here
  for (let i = 0; i < 5; i++) {
    await h.signIn(`+1415555020${i}`);
    h.clock.advance(61_000);
  }
  h.clock.advance(600_000);
  assert.equal(await sweepPresence(h.ctx), 5);
  let reads = 0;
  const list = h.ctx.kv.list.bind(h.ctx.kv);
  h.ctx.kv.list = ((selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
    reads++;
    return list(selector, options);
  }) as typeof h.ctx.kv.list;
  assert.equal(await sweepPresence(h.ctx), 0);
  assert.equal(reads, 1, "one empty page of the online index, not the users");
});

Deno.test("presence - the sweep reads only users whose silence ran out, not everyone online", async () => {
  await using h = await startHarness();
  h.ctx.presence.deadlines.stop(); // only the sweep takes anyone offline here
  const quiet: string[] = [];
  const busy: string[] = [];
  for (let i = 0; i < 24; i++) {
    const session = await h.signIn(`+1415555${String(1100 + i)}`);
    (i < 4 ? quiet : busy).push(session.access_token);
  }
  // Two minutes on: the busy ones heartbeat every 30 s, the quiet ones never again.
  for (let step = 0; step < 5; step++) {
    h.clock.advance(30_000);
    for (const token of busy) {
      const res = await h.post("/api/v1/presence/heartbeat", {}, { token });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
  }
  let reads = 0;
  const getMany = h.ctx.kv.getMany.bind(h.ctx.kv);
  h.ctx.kv.getMany = ((keys: Deno.KvKey[], options?: { consistency?: Deno.KvConsistencyLevel }) => {
    reads++;
    return getMany(keys, options);
  }) as typeof h.ctx.kv.getMany;
  assert.equal(await sweepPresence(h.ctx), 4);
  assert.ok(reads <= 4 * 2, `${reads} presence reads for 4 expired users out of 24 online`);
  assert.equal(await readOnlineCount(h.ctx.kv), 20);
  const stats = await h.get("/api/v1/presence?user_ids=x", { token: busy[0] });
  assert.equal(stats.status, 200);
  await stats.body?.cancel();
});

Deno.test("presence - a bulk answer follows each change of a user already in it", async () => {
  await using h = await startHarness();
  const session = await h.signIn(PHONE);
  const other = await h.signIn("+14155550111");
  const ask = async () =>
    (await (await h.get(
      `/api/v1/presence?user_ids=${session.user.id},${other.user.id},usr_nobody`,
      { token: other.access_token },
    )).json()).users;
  const entry = (status: string, at: string) => ({
    user_id: session.user.id,
    status,
    last_seen: `2026-11-21T${at}.000Z`,
  });
  assert.deepEqual((await ask())[0], entry("online", "10:00:00"));
  h.clock.advance(60_000);
  await (await h.post("/api/v1/presence/heartbeat", {}, { token: session.access_token })).json();
  assert.deepEqual((await ask())[0], entry("online", "10:01:00"), "a heartbeat moves last_seen");
  h.clock.advance(120_000);
  const answer = await ask();
  assert.deepEqual(answer[0], entry("offline", "10:01:00"), "silence: offline, same last_seen");
  assert.deepEqual(answer[2], { user_id: "usr_nobody", status: "offline", last_seen: null });
});
