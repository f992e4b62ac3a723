import assert from "node:assert/strict";
import { openSocket, serveHarness, startHarness, ticketUrl, waitFor } from "../helpers.ts";

Deno.test("ws - ticket, ping/pong, subscribe snapshot and change pushes", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const watcher = await h.signIn("+14155550100");
  const watched = await h.signIn("+14155550101");
  await using ws = await openSocket(await ticketUrl(h, server.wsUrl, watcher.access_token));
  assert.deepEqual(await ws.next(), { type: "ready", user_id: watcher.user.id });
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" });

  ws.send({ type: "subscribe", user_ids: [watched.user.id, "usr_unknown"] });
  assert.deepEqual(await ws.next(), {
    type: "presence",
    user_id: watched.user.id,
    status: "online",
    last_seen: "2026-11-21T10:00:00.000Z",
  });
  assert.deepEqual(await ws.next(), {
    type: "presence",
    user_id: "usr_unknown",
    status: "offline",
    last_seen: null,
  });

  const out = await h.post("/api/v1/auth/logout", {}, { token: watched.access_token });
  assert.equal(out.status, 204);
  const pushed = await ws.next();
  assert.equal(pushed.type, "presence");
  assert.equal(pushed.user_id, watched.user.id);
  assert.equal(pushed.status, "offline");

  ws.send({ type: "unsubscribe", user_ids: [watched.user.id] });
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" });
  h.clock.advance(61_000);
  await h.signIn("+14155550101");
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" }, "no push after unsubscribe");
});

Deno.test("ws - bad messages get an error; oversize closes 1009, floods close 1008", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const session = await h.signIn("+14155550100");
  {
    await using ws = await openSocket(await ticketUrl(h, server.wsUrl, session.access_token));
    await ws.next();
    ws.send({ type: "subscribe", user_ids: "usr_x" });
    assert.equal((await ws.next()).code, "VALIDATION_FAILED");
    ws.send({ type: "dance" });
    assert.equal((await ws.next()).type, "error");
    ws.send("x".repeat(5000));
    assert.equal((await ws.closed).code, 1009);
  }
  {
    await using ws = await openSocket(await ticketUrl(h, server.wsUrl, session.access_token));
    await ws.next();
    for (let i = 0; i < 70; i++) ws.send({ type: "ping" });
    assert.equal((await ws.closed).code, 1008);
  }
});

Deno.test("ws - an open socket keeps its user online past the timeout", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const session = await h.signIn("+14155550100");
  const observer = await h.signIn("+14155550199");
  await using ws = await openSocket(await ticketUrl(h, server.wsUrl, session.access_token));
  await ws.next();
  for (let i = 0; i < 10; i++) {
    h.clock.advance(30_000); // the keep-alive runs every heartbeat_interval_seconds
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const res = await h.get(`/api/v1/presence?user_ids=${session.user.id}`, {
    token: observer.access_token,
  });
  assert.equal((await res.json()).users[0].status, "online");
});

Deno.test("ws - closing the last socket without a recent heartbeat takes the user offline after the grace", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const session = await h.signIn("+14155550100");
  const observer = await h.signIn("+14155550199");
  const status = async () =>
    (await (await h.get(`/api/v1/presence?user_ids=${session.user.id}`, {
      token: observer.access_token,
    })).json()).users[0].status;
  const ws = await openSocket(await ticketUrl(h, server.wsUrl, session.access_token));
  await ws.next();
  ws.socket.close();
  await ws.closed;
  await waitFor(() => h.ctx.presence.hub.size === 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await status(), "online", "presence_offline_grace_seconds: 5");
  h.clock.advance(5_000);
  await waitFor(async () => (await status()) === "offline");
});

Deno.test("ws - multi-device: one socket closes, an HTTP heartbeat keeps the user online", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const session = await h.signIn("+14155550100");
  const observer = await h.signIn("+14155550199");
  const ws = await openSocket(await ticketUrl(h, server.wsUrl, session.access_token));
  await ws.next();
  h.clock.advance(10_000);
  const beat = await h.post("/api/v1/presence/heartbeat", {}, { token: session.access_token });
  assert.equal(beat.status, 200);
  await beat.body?.cancel();
  ws.socket.close();
  await ws.closed;
  await waitFor(() => h.ctx.presence.hub.size === 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const status = async () =>
    (await (await h.get(`/api/v1/presence?user_ids=${session.user.id}`, {
      token: observer.access_token,
    })).json()).users[0].status;
  assert.equal(await status(), "online");
  h.clock.advance(119_000);
  assert.equal(await status(), "online");
  h.clock.advance(1_000);
  assert.equal(await status(), "offline");
});
