import assert from "node:assert/strict";
import { revokeSession } from "../../kv/sessions.ts";
import { getUserEntry, saveUser } from "../../kv/users.ts";
import {
  type Harness,
  openSocket,
  serveHarness,
  setUserStatus,
  type SignInBody,
  startHarness,
  type TestSocket,
  ticketUrl,
} from "../helpers.ts";

const ADMIN = "+14155550000";
const PHONE = "+14155550100";
/** One phone signs in many times here. */
const ENV = {
  ADMIN_PHONES: ADMIN,
  OTP_RESEND_COOLDOWN_SECONDS: "0",
  OTP_RATE_LIMIT_PER_HOUR: "1000",
  OTP_IP_RATE_LIMIT_PER_HOUR: "1000",
};

/** A socket of `session`'s sign-in, asked of `h`, opened on `wsUrl` and ready. */
async function socketOf(h: Harness, wsUrl: string, session: SignInBody): Promise<TestSocket> {
  const ws = await openSocket(await ticketUrl(h, wsUrl, session.access_token));
  assert.deepEqual(await ws.next(), { type: "ready", user_id: session.user.id });
  return ws;
}

/** The socket still answers. */
async function assertOpen(ws: TestSocket, what: string): Promise<void> {
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" }, what);
}

/** The socket was closed by the server with `code` within 1 s of `since`. */
async function assertClosed(ws: TestSocket, code: number, since: number, what: string) {
  const closed = await Promise.race([
    ws.closed,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 1_500)),
  ]);
  assert.ok(closed, `${what}: still open`);
  assert.equal(closed.code, code, what);
  const ms = performance.now() - since;
  assert.ok(ms < 1_000, `${what}: closed after ${Math.round(ms)} ms`);
}

function sidOf(token: string): string {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload)).sid;
}

async function send(
  h: Harness,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<Response> {
  return await h.app.request(path, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Two instances on one KV and clock; sockets are served by `b`, sign-ins end on `a`. */
async function twoInstances() {
  const a = await startHarness({ env: ENV });
  const b = await startHarness({ kv: a.ctx.kv, clock: a.clock, env: ENV });
  const server = serveHarness(b);
  return {
    a,
    b,
    server,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await b[Symbol.asyncDispose]();
      await a[Symbol.asyncDispose]();
    },
  };
}

Deno.test("ws sign-in - every way a sign-in ends closes its sockets on another instance with 4001 within 1 s; the user's other sign-in stays", async () => {
  await using env = await twoInstances();
  const { a, b, server } = env;
  const admin = await a.signIn(ADMIN);
  type Ending = (ended: SignInBody, kept: SignInBody) => Promise<Response>;
  const endings: [string, Ending][] = [
    ["logout", (ended) => send(a, "POST", "/api/v1/auth/logout", ended.access_token, {})],
    [
      "DELETE /api/v1/sessions/:id",
      (ended, kept) =>
        send(a, "DELETE", `/api/v1/sessions/${sidOf(ended.access_token)}`, kept.access_token),
    ],
    ["admin DELETE one sign-in", (ended) =>
      send(
        a,
        "DELETE",
        `/api/v1/admin/users/${ended.user.id}/sessions/${sidOf(ended.access_token)}`,
        admin.access_token,
      )],
    ["refresh-token reuse", async (ended) => {
      const first = await a.post("/api/v1/auth/refresh", { refresh_token: ended.refresh_token });
      assert.equal(first.status, 200);
      await first.body?.cancel();
      a.clock.advance(10_000); // past the grace for a client racing itself
      return await a.post("/api/v1/auth/refresh", { refresh_token: ended.refresh_token });
    }],
  ];
  for (const [what, end] of endings) {
    const ended = await a.signIn(PHONE);
    const kept = await a.signIn(PHONE);
    // Two sockets of the ending sign-in (the ticket asked of one instance, used on the other).
    const sockets = [
      await socketOf(a, server.wsUrl, ended),
      await socketOf(b, server.wsUrl, ended),
    ];
    await using keptSocket = await socketOf(a, server.wsUrl, kept);
    const started = performance.now();
    const res = await end(ended, kept);
    assert.ok(res.status === 204 || res.status === 401, `${what}: ${res.status}`);
    await res.body?.cancel();
    for (const ws of sockets) await assertClosed(ws, 4001, started, what);
    await assertOpen(keptSocket, `${what}: the other sign-in's socket`);
    for (const ws of sockets) await ws[Symbol.asyncDispose]();
  }
  // And the ones that end every sign-in but the caller's, or all of them.
  const current = await a.signIn(PHONE);
  const others = [await a.signIn(PHONE), await a.signIn(PHONE)];
  await using currentSocket = await socketOf(a, server.wsUrl, current);
  const otherSockets = await Promise.all(others.map((s) => socketOf(a, server.wsUrl, s)));
  let started = performance.now();
  const res = await send(a, "DELETE", "/api/v1/sessions", current.access_token);
  assert.equal(res.status, 204);
  for (const ws of otherSockets) await assertClosed(ws, 4001, started, "DELETE /api/v1/sessions");
  await assertOpen(currentSocket, "DELETE /api/v1/sessions: the caller's own");

  started = performance.now();
  const all = await send(
    a,
    "DELETE",
    `/api/v1/admin/users/${current.user.id}/sessions`,
    admin.access_token,
  );
  assert.equal(all.status, 204);
  await assertClosed(currentSocket, 4001, started, "admin DELETE every sign-in");
});

Deno.test("ws sign-in - logout with another sign-in's refresh token closes both sign-ins' sockets; a third sign-in and another user's stay", async () => {
  await using env = await twoInstances();
  const { a, server } = env;
  const caller = await a.signIn(PHONE);
  const named = await a.signIn(PHONE);
  const third = await a.signIn(PHONE);
  const stranger = await a.signIn("+14155550101");
  const callerSocket = await socketOf(a, server.wsUrl, caller);
  const namedSocket = await socketOf(a, server.wsUrl, named);
  await using thirdSocket = await socketOf(a, server.wsUrl, third);
  await using strangerSocket = await socketOf(a, server.wsUrl, stranger);

  // Someone else's refresh token in the body is ignored: only the caller's sign-in ends.
  const started = performance.now();
  const res = await send(a, "POST", "/api/v1/auth/logout", caller.access_token, {
    refresh_token: named.refresh_token,
  });
  assert.equal(res.status, 204);
  await assertClosed(callerSocket, 4001, started, "the caller's sign-in");
  await assertClosed(namedSocket, 4001, started, "the sign-in named by the refresh token");
  await assertOpen(thirdSocket, "a third sign-in of the user");
  const refresh = await a.post("/api/v1/auth/refresh", { refresh_token: named.refresh_token });
  assert.equal(refresh.status, 401, "the named sign-in ended");
  await refresh.body?.cancel();

  const other = await a.signIn(PHONE);
  const out = await send(a, "POST", "/api/v1/auth/logout", other.access_token, {
    refresh_token: stranger.refresh_token,
  });
  assert.equal(out.status, 204);
  await assertOpen(strangerSocket, "another user's refresh token is ignored");
  const still = await a.post("/api/v1/auth/refresh", { refresh_token: stranger.refresh_token });
  assert.equal(still.status, 200);
  await still.body?.cancel();
  for (const ws of [callerSocket, namedSocket]) await ws[Symbol.asyncDispose]();
});

Deno.test("ws sign-in - a disabled account's sockets close with 4003 on another instance within 1 s", async () => {
  await using env = await twoInstances();
  const { a, server } = env;
  const admin = await a.signIn(ADMIN);
  const sockets = [
    await socketOf(a, server.wsUrl, await a.signIn(PHONE)),
    await socketOf(a, server.wsUrl, await a.signIn(PHONE)),
  ];
  await using adminSocket = await socketOf(a, server.wsUrl, admin);
  const started = performance.now();
  await setUserStatus(a, admin.access_token, (await a.signIn(PHONE)).user.id, "banned");
  for (const ws of sockets) await assertClosed(ws, 4003, started, "banned");
  await assertOpen(adminSocket, "another user's socket");
});

Deno.test("ws sign-in - an end whose event was lost is caught by the re-check within 60 s", async () => {
  await using h = await startHarness({ env: ENV });
  await using server = serveHarness(h);
  const ended = await h.signIn(PHONE);
  const kept = await h.signIn(PHONE);
  const disabled = await h.signIn("+14155550101");
  await using endedSocket = await socketOf(h, server.wsUrl, ended);
  await using keptSocket = await socketOf(h, server.wsUrl, kept);
  await using disabledSocket = await socketOf(h, server.wsUrl, disabled);

  // Written straight to KV: no event is published, as if it were lost between instances.
  await revokeSession(h.ctx.kv, sidOf(ended.access_token), h.clock.now());
  const entry = await getUserEntry(h.ctx.kv, disabled.user.id);
  assert.ok(await saveUser(h.ctx.kv, { ...entry.value!, status: "suspended" }, entry));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await assertOpen(endedSocket, "nothing told this instance yet");

  let closedAt: number | null = null;
  endedSocket.closed.then(() => closedAt ??= h.clock.now());
  const lost = h.clock.now();
  for (let i = 0; i < 12 && closedAt === null; i++) {
    h.clock.advance(5_000);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  assert.equal((await endedSocket.closed).code, 4001);
  assert.ok(closedAt! - lost <= 60_000, `closed ${closedAt! - lost} ms after the revocation`);
  assert.equal((await disabledSocket.closed).code, 4003);
  await assertOpen(keptSocket, "the sign-in that holds");
});
