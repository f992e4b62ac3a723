import assert from "node:assert/strict";
import { socketsAlive, sweepPresence } from "../../core/presence/presence.ts";
import { listEventsAfter } from "../../kv/events.ts";
import { readOnlineCount, readPresence } from "../../kv/presence.ts";
import {
  type Harness,
  openSocket,
  recordEvents,
  serveHarness,
  setUserStatus,
  startHarness,
  type TestSocket,
  ticketUrl,
  waitFor,
} from "../helpers.ts";

const PHONE = "+14155550100";
const OBSERVER = "+14155550199";

/** Opens a socket on `wsUrl` with a ticket of `token`'s sign-in, asked of `h`. */
async function connect(h: Harness, wsUrl: string, token: string): Promise<TestSocket> {
  const ws = await openSocket(await ticketUrl(h, wsUrl, token));
  assert.equal((await ws.next()).type, "ready");
  return ws;
}

/** Closes the socket and waits until `h` has recorded its close (the grace, or the offline). */
async function disconnect(h: Harness, ws: TestSocket, userId: string): Promise<void> {
  const closedAt = h.clock.now();
  ws.socket.close();
  await ws.closed;
  await waitFor(async () => {
    const { state } = await readPresence(h.ctx.kv, userId);
    return state.value?.offlineAt === closedAt;
  });
}

async function statusOf(h: Harness, userId: string, token: string): Promise<string> {
  const res = await h.get(`/api/v1/presence?user_ids=${userId}`, { token });
  return (await res.json()).users[0].status;
}

/** Lets the deadlines' async work (settling presence) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * `PHONE` signs in and, `afterMs` later, opens a socket; the events from then on are recorded
 * (the socket's own online event is not).
 */
async function signInAndConnect(h: Harness, wsUrl: string, afterMs: number) {
  const session = await h.signIn(PHONE);
  h.clock.advance(afterMs);
  const ws = await connect(h, wsUrl, session.access_token);
  return { session, id: session.user.id, ws, events: recordEvents(h) };
}

async function loggedPresenceEvents(kv: Deno.Kv): Promise<string[]> {
  return (await listEventsAfter(kv, "0")).map((e) => String(e.data.type))
    .filter((type) => type.startsWith("presence."));
}

Deno.test("grace - a socket reopened within the grace emits nothing and the user stays online", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const observer = await h.signIn(OBSERVER);
  const { session, id, ws: first, events } = await signInAndConnect(h, server.wsUrl, 0);
  const logged = (await loggedPresenceEvents(h.ctx.kv)).length;

  await disconnect(h, first, id);
  h.clock.advance(4_000);
  assert.equal(await statusOf(h, id, observer.access_token), "online", "online within the grace");
  await using _second = await connect(h, server.wsUrl, session.access_token);
  h.clock.advance(2_000); // the grace's deadline passes
  await settle();

  assert.equal(await statusOf(h, id, observer.access_token), "online");
  assert.deepEqual(events.filter((e) => e.type.startsWith("presence.")), []);
  assert.equal((await loggedPresenceEvents(h.ctx.kv)).length, logged, "nothing in the event log");
  assert.equal(await readOnlineCount(h.ctx.kv), 2);
});

Deno.test("grace - a heartbeat within the grace keeps the user online with no transition, and reads nothing", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const { session, id, ws, events } = await signInAndConnect(h, server.wsUrl, 60_000);
  await disconnect(h, ws, id);
  h.clock.advance(500);

  let reads = 0;
  const { get, getMany, list } = h.ctx.kv;
  h.ctx.kv.get = ((...args: Parameters<Deno.Kv["get"]>) => {
    reads++;
    return get.apply(h.ctx.kv, args);
  }) as Deno.Kv["get"];
  h.ctx.kv.getMany = ((...args: Parameters<Deno.Kv["getMany"]>) => {
    reads++;
    return getMany.apply(h.ctx.kv, args);
  }) as Deno.Kv["getMany"];
  h.ctx.kv.list = ((...args: Parameters<Deno.Kv["list"]>) => {
    reads++;
    return list.apply(h.ctx.kv, args);
  }) as Deno.Kv["list"];
  const beat = await h.post("/api/v1/presence/heartbeat", {}, { token: session.access_token });
  assert.equal(beat.status, 200);
  assert.equal((await beat.json()).status, "online");
  assert.equal(reads, 0, "the heartbeat of a user in the grace reads nothing");
  h.ctx.kv.get = get;
  h.ctx.kv.getMany = getMany;
  h.ctx.kv.list = list;

  h.clock.advance(10_000);
  await settle();
  assert.equal(await statusOf(h, id, session.access_token), "online");
  assert.deepEqual(events.filter((e) => e.type.startsWith("presence.")), []);
  // From then on the heartbeat's own timeout rules.
  h.clock.advance(109_999);
  assert.equal(await statusOf(h, id, session.access_token), "online");
  h.clock.advance(1);
  await waitFor(() => events.some((e) => e.type === "presence.offline"));
});

Deno.test("grace - a socket that stays closed takes the user offline at the grace's end", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const observer = await h.signIn(OBSERVER);
  const { id, ws, events } = await signInAndConnect(h, server.wsUrl, 60_000);
  const closedAt = h.clock.now();
  await disconnect(h, ws, id);

  h.clock.advance(4_999);
  assert.equal(await statusOf(h, id, observer.access_token), "online");
  h.clock.advance(1);
  assert.equal(await statusOf(h, id, observer.access_token), "offline");
  await waitFor(() => events.some((e) => e.type === "presence.offline"));
  await settle();
  const presence = events.filter((e) => e.type.startsWith("presence."));
  assert.deepEqual(presence.map((e) => [e.type, e.user_id, e.at]), [
    ["presence.offline", id, new Date(closedAt + 5_000).toISOString()],
  ]);
  assert.equal(await readOnlineCount(h.ctx.kv), 1, "only the observer");
});

Deno.test("grace - a grace longer than the timeout keeps the user online for all of it", async () => {
  await using h = await startHarness({
    env: {
      PRESENCE_TIMEOUT_SECONDS: "20",
      HEARTBEAT_INTERVAL_SECONDS: "10",
      PRESENCE_OFFLINE_GRACE_SECONDS: "30",
    },
  });
  await using server = serveHarness(h);
  const observer = await h.signIn(OBSERVER);
  const { session, id, ws, events } = await signInAndConnect(h, server.wsUrl, 60_000);
  // Last recorded alive as it opened; it closes 9 s later, before its next keep-alive.
  h.clock.advance(9_000);
  const closedAt = h.clock.now();
  await disconnect(h, ws, id);

  // Past the timeout after the socket was last recorded, still within the grace.
  h.clock.advance(25_000);
  await settle();
  assert.equal(await statusOf(h, id, observer.access_token), "online", "online all the grace");
  await using _again = await connect(h, server.wsUrl, session.access_token);
  assert.deepEqual(events.filter((e) => e.type.startsWith("presence.")), [], "no offline/online");

  // Closed again and left closed: offline at the grace's end, dated then.
  const closedAgainAt = h.clock.now();
  await disconnect(h, _again, id);
  h.clock.advance(29_999);
  await settle();
  assert.equal(await statusOf(h, id, observer.access_token), "online");
  h.clock.advance(1);
  await waitFor(() => events.some((e) => e.type === "presence.offline"));
  assert.deepEqual(events.map((e) => [e.type, e.at]), [
    ["presence.offline", new Date(closedAgainAt + 30_000).toISOString()],
  ]);
  assert.equal(closedAgainAt - closedAt, 25_000);
});

Deno.test("grace - an admin suspends a user in the grace: offline at once, nothing at its end", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: OBSERVER } });
  await using server = serveHarness(h);
  const admin = await h.signIn(OBSERVER);
  const { id, ws, events } = await signInAndConnect(h, server.wsUrl, 60_000);
  await disconnect(h, ws, id);
  h.clock.advance(2_000);
  const suspendedAt = new Date(h.clock.now()).toISOString();
  await setUserStatus(h, admin.access_token, id, "suspended");
  const presence = () => events.filter((e) => e.type.startsWith("presence.") && e.user_id === id);
  assert.deepEqual(presence().map((e) => [e.type, e.at]), [["presence.offline", suspendedAt]]);
  assert.equal(await statusOf(h, id, admin.access_token), "offline");
  assert.equal(await readOnlineCount(h.ctx.kv), 1, "only the admin");
  h.clock.advance(60_000);
  await settle();
  assert.equal(await sweepPresence(h.ctx), 0);
  assert.deepEqual(presence().map((e) => [e.type, e.at]), [["presence.offline", suspendedAt]]);
});

Deno.test("grace - a keep-alive of a socket whose user was just suspended brings nobody online", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: OBSERVER } });
  const admin = await h.signIn(OBSERVER);
  const { user } = await h.signIn(PHONE);
  const events = recordEvents(h);
  await setUserStatus(h, admin.access_token, user.id, "suspended");
  // A keep-alive tick lists its sockets, then records them: the suspension (on this instance
  // or another, heard of a moment later) may land in between, before the socket is closed.
  h.clock.advance(30_000);
  await socketsAlive(h.ctx, [{ userId: user.id, socketId: "socket-open-elsewhere" }]);
  const presence = events.filter((e) => e.type.startsWith("presence."));
  assert.deepEqual(presence.map((e) => e.type), ["presence.offline"], "no presence.online");
  assert.equal(await readOnlineCount(h.ctx.kv), 1, "only the admin");
  assert.equal((await readPresence(h.ctx.kv, user.id)).state.value?.online, false);
});

Deno.test("grace - a user kept online by HTTP heartbeats is left alone when a socket closes", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const session = await h.signIn(PHONE);
  const id = session.user.id;
  h.clock.advance(10_000);
  const beat = await h.post("/api/v1/presence/heartbeat", {}, { token: session.access_token });
  assert.equal(beat.status, 200);
  await beat.body?.cancel();
  const beatAt = h.clock.now();
  const ws = await connect(h, server.wsUrl, session.access_token);
  const events = recordEvents(h);
  ws.socket.close();
  await ws.closed;
  await waitFor(() => h.ctx.presence.hub.size === 0);
  await settle();
  const { state } = await readPresence(h.ctx.kv, id);
  assert.equal(state.value?.offlineAt, null, "no grace recorded: the heartbeat keeps them");
  h.clock.advance(beatAt + 119_999 - h.clock.now());
  assert.equal(await statusOf(h, id, session.access_token), "online");
  h.clock.advance(1);
  await waitFor(() => events.some((e) => e.type === "presence.offline"));
  assert.deepEqual(events.map((e) => [e.type, e.at]), [
    ["presence.offline", new Date(beatAt + 120_000).toISOString()],
  ]);
});

Deno.test("grace - presence_offline_grace_seconds 0 takes the user offline as the socket closes", async () => {
  await using h = await startHarness({ env: { PRESENCE_OFFLINE_GRACE_SECONDS: "0" } });
  await using server = serveHarness(h);
  const { session, id, ws, events } = await signInAndConnect(h, server.wsUrl, 60_000);
  const closedAt = new Date(h.clock.now()).toISOString();
  await disconnect(h, ws, id);
  await waitFor(() => events.some((e) => e.type === "presence.offline"));
  assert.equal(events.find((e) => e.type === "presence.offline")!.at, closedAt);
  assert.equal(await statusOf(h, id, session.access_token), "offline");
  assert.equal(await readOnlineCount(h.ctx.kv), 0);
});

Deno.test("grace - an admin changes presence_offline_grace_seconds at run time", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: OBSERVER } });
  await using server = serveHarness(h);
  const admin = await h.signIn(OBSERVER);
  const put = await h.app.request("/api/v1/admin/settings", {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin.access_token}` },
    body: JSON.stringify({ presence_offline_grace_seconds: 30 }),
  });
  assert.equal(put.status, 200);
  assert.equal((await put.json()).presence_offline_grace_seconds, 30);
  const { id, ws } = await signInAndConnect(h, server.wsUrl, 60_000);
  await disconnect(h, ws, id);
  h.clock.advance(29_999);
  assert.equal(await statusOf(h, id, admin.access_token), "online");
  h.clock.advance(1);
  assert.equal(await statusOf(h, id, admin.access_token), "offline");

  for (const value of [-1, 61, 2.5]) {
    const bad = await h.app.request("/api/v1/admin/settings", {
      method: "PUT",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${admin.access_token}`,
      },
      body: JSON.stringify({ presence_offline_grace_seconds: value }),
    });
    assert.equal(bad.status, 400, String(value));
    assert.equal((await bad.json()).error.code, "VALIDATION_FAILED");
  }
});

Deno.test("grace - a reconnect to another instance within the grace emits nothing on either", async () => {
  await using a = await startHarness();
  await using b = await startHarness({ kv: a.ctx.kv, clock: a.clock });
  await using serverA = serveHarness(a);
  await using serverB = serveHarness(b);
  const eventsA = recordEvents(a);
  const eventsB = recordEvents(b);
  const presence = (events: typeof eventsA) =>
    events.filter((e) => e.type.startsWith("presence.")).map((e) => [e.type, e.at]);
  const session = await a.signIn(PHONE);
  const id = session.user.id;
  const signedInAt = new Date(a.clock.now()).toISOString();
  const onA = await connect(a, serverA.wsUrl, session.access_token);
  // b follows a's event log: from here on, both have seen the sign-in.
  await waitFor(() => presence(eventsB).length === 1);
  const logged = (await loggedPresenceEvents(a.ctx.kv)).length;

  await disconnect(a, onA, id);
  a.clock.advance(3_000);
  const onB = await connect(b, serverB.wsUrl, session.access_token);
  a.clock.advance(3_000); // a's deadline for the grace fires and finds the user back
  await new Promise((resolve) => setTimeout(resolve, 600)); // b's tail polls every 250 ms
  assert.equal(await statusOf(a, id, session.access_token), "online");
  assert.equal(await statusOf(b, id, session.access_token), "online");
  assert.equal((await loggedPresenceEvents(a.ctx.kv)).length, logged);
  const online = [["presence.online", signedInAt]];
  assert.deepEqual(presence(eventsA), online);
  assert.deepEqual(presence(eventsB), online);

  // Now b goes away with its socket (its deadlines with it): a's sweep takes the user
  // offline, dated at the end of the grace.
  b.ctx.presence.deadlines.stop();
  const closedAt = a.clock.now();
  await disconnect(b, onB, id);
  a.clock.advance(60_000);
  await settle();
  assert.equal(await statusOf(a, id, session.access_token), "offline");
  assert.equal(await sweepPresence(a.ctx), 1);
  const offline = [...online, ["presence.offline", new Date(closedAt + 5_000).toISOString()]];
  assert.deepEqual(presence(eventsA), offline);
  await waitFor(() => presence(eventsB).length === 2);
  assert.deepEqual(presence(eventsB), offline);
  assert.equal(await readOnlineCount(a.ctx.kv), 0);
});
