import assert from "node:assert/strict";
import type { z } from "zod";
import {
  createDoormanClient,
  type DoormanClient,
  type DoormanClientOptions,
  DoormanError,
  localStorageStorage,
  memoryStorage,
  type PresenceView,
  type Timers,
} from "../../client/mod.ts";
import type { CodeRequestBody, CodeVerifyBody } from "../../contract/api.ts";
import { codeRequestSchema, codeVerifySchema } from "../../routes/api/v1/auth.ts";
import {
  baseEnv,
  type DoormanProcess,
  startDoorman,
  stopDoorman,
} from "../../bench/doorman_process.ts";
import { startWebhookReceiver } from "../../fakes/webhook_receiver.ts";
import { type Harness, serveHarness, setUserStatus, startHarness, waitFor } from "../helpers.ts";

/*
 * The client SDK against a real Doorman: a harness served on loopback (its clock is fake, so
 * tokens expire when a test says), and for the restart a real `main.ts` stopped and started
 * again on the same port and KV file. Only the client's timers and the page's visibility are
 * fakes; fetch and WebSocket are the platform's, wrapped to count what goes over the wire.
 */

const ADMIN = "+14155550199";
/** Small waits, so reconnects take milliseconds. */
const QUICK = { initialMs: 20, maxMs: 200 };

/** The platform's fetch, counting requests by `METHOD /path`. */
function countingFetch() {
  const calls: string[] = [];
  return {
    fetch(url: string, init: RequestInit) {
      calls.push(`${init.method ?? "GET"} ${new URL(url).pathname}`);
      return fetch(url, init);
    },
    count: (call: string) => calls.filter((c) => c === call).length,
  };
}

/** The platform's WebSocket, remembering each socket so a test can wait for all to close. */
function trackedSockets() {
  const opened: WebSocket[] = [];
  const closed: Promise<void>[] = [];
  class Tracked extends WebSocket {
    constructor(url: string) {
      super(url);
      opened.push(this);
      closed.push(new Promise((resolve) => this.addEventListener("close", () => resolve())));
    }
  }
  return { WebSocket: Tracked, opened, allClosed: () => Promise.all(closed) };
}

/** Timers run by hand: `fire()` runs the only pending one and returns its delay. */
function manualTimers() {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let last = 0;
  const timers: Timers = {
    setTimeout: (callback, ms) => (pending.set(++last, { callback, ms }), last),
    clearTimeout: (handle) => void pending.delete(handle as number),
  };
  return {
    timers,
    pending,
    delays: () => [...pending.values()].map((t) => t.ms),
    fire(): number {
      assert.equal(pending.size, 1, "exactly one timer pending");
      const [[id, timer]] = pending;
      pending.delete(id);
      timer.callback();
      return timer.ms;
    },
  };
}

/** A page whose visibility the test switches. */
class FakeDocument extends EventTarget {
  visibilityState: "visible" | "hidden" = "visible";
  show(visible: boolean) {
    this.visibilityState = visible ? "visible" : "hidden";
    this.dispatchEvent(new Event("visibilitychange"));
  }
}

/** Signs `client` in with the code the fake SMS gateway received. */
async function signIn(client: DoormanClient, sms: Harness["sms"], phone: string) {
  const requested = await client.requestCode({ phone });
  assert.equal(requested.channel, "sms");
  const code = sms.lastCode(phone);
  assert.ok(code, `no code reached ${phone}`);
  return await client.verifyCode({ requestId: requested.request_id, code });
}

function clientOf(url: string, options: Partial<DoormanClientOptions> = {}): DoormanClient {
  return createDoormanClient({ baseUrl: url, backoff: QUICK, ...options });
}

/** Every presence update a subscription got. */
function presenceLog() {
  const seen: PresenceView[] = [];
  return {
    seen,
    onChange: (presence: PresenceView) => void seen.push(presence),
    statuses: () => seen.map((p) => p.status),
  };
}

async function rejection(promise: Promise<unknown>): Promise<DoormanError> {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof DoormanError, `expected a DoormanError, got ${error}`);
  return error;
}

Deno.test("client - signs in with the code from the SMS; error answers are DoormanErrors", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const client = clientOf(server.url);
  assert.equal(await client.session(), null);

  const requested = await client.requestCode({ phone: "+1 (415) 555-0100" });
  assert.match(requested.request_id, /^otp_/);
  assert.equal(requested.expires_in, 300);
  const wrong = await rejection(
    client.verifyCode({ requestId: requested.request_id, code: "000000" }),
  );
  assert.equal(wrong.status, 400);
  assert.equal(wrong.code, "INVALID_CODE");
  assert.equal(wrong.attemptsLeft, 4);

  const signedIn = await client.verifyCode({
    requestId: requested.request_id,
    code: h.sms.lastCode("+14155550100")!,
  });
  assert.equal(signedIn.token_type, "Bearer");
  assert.equal(signedIn.user.phone, "+14155550100");
  assert.deepEqual(await client.session(), signedIn);
  assert.deepEqual(await client.me(), signedIn.user);

  const limited = await rejection(client.requestCode({ phone: "+14155550100" }));
  assert.equal(limited.status, 429);
  assert.equal(limited.code, "RATE_LIMITED");
  assert.ok(limited.retryAfter! > 0 && limited.retryAfter! <= 60, `${limited.retryAfter}`);
});

Deno.test("client - five parallel refresh() calls send one request and share its answer", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const net = countingFetch();
  const client = clientOf(server.url, { fetch: net.fetch });
  const first = await signIn(client, h.sms, "+14155550101");

  const pairs = await Promise.all([1, 2, 3, 4, 5].map(() => client.refresh()));
  assert.equal(net.count("POST /api/v1/auth/refresh"), 1);
  for (const pair of pairs) assert.deepEqual(pair, pairs[0]);
  assert.notEqual(pairs[0].refresh_token, first.refresh_token);
  assert.deepEqual(await client.session(), pairs[0]);

  // A later call is a new exchange, with the rotated token.
  await client.refresh();
  assert.equal(net.count("POST /api/v1/auth/refresh"), 2);
});

Deno.test("client - fetch() after the access token expired refreshes once for parallel callers and retries", async () => {
  await using h = await startHarness({ env: { ACCESS_TOKEN_TTL_SECONDS: "60" } });
  await using server = serveHarness(h);
  const net = countingFetch();
  const client = clientOf(server.url, { fetch: net.fetch });
  const { user } = await signIn(client, h.sms, "+14155550102");
  h.clock.advance(61_000);

  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => client.fetch("/api/v1/me")));
  for (const res of answers) {
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).user, user);
  }
  assert.equal(net.count("POST /api/v1/auth/refresh"), 1);
  assert.equal(net.count("GET /api/v1/me"), 10); // five refused, five retried
});

Deno.test("client - a 401 from refresh signs out: the session is removed and DoormanError thrown", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const signOuts: (DoormanError | null)[] = [];
  const client = clientOf(server.url, { onSignOut: (error) => signOuts.push(error) });
  const session = await signIn(client, h.sms, "+14155550103");
  // The sign-in ends elsewhere (another device ended it).
  const res = await h.post("/api/v1/auth/logout", {}, { token: session.access_token });
  assert.equal(res.status, 204);

  const error = await rejection(client.refresh());
  assert.equal(error.status, 401);
  assert.equal(error.code, "UNAUTHORIZED");
  assert.equal(await client.session(), null);
  assert.deepEqual(signOuts, [error]);
  // Signed out, a call needing the session answers 401 without a refresh to try.
  assert.equal((await rejection(client.me())).status, 401);
});

Deno.test("client - a refresh token reused within the grace window by a tab sharing the storage adopts that tab's new pair", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const storage = memoryStorage();
  const tabA = clientOf(server.url, { storage });
  await signIn(tabA, h.sms, "+14155550104");
  // Tab B sends the same refresh token, but it reaches the server after tab A's rotation.
  let releaseB = () => {};
  const aDone = new Promise<void>((resolve) => releaseB = resolve);
  const answeredB: number[] = [];
  const tabB = clientOf(server.url, {
    storage,
    fetch: async (url, init) => {
      await aDone;
      const res = await fetch(url, init);
      answeredB.push(res.status);
      return res;
    },
  });
  const b = tabB.refresh();
  const a = await tabA.refresh();
  releaseB();

  // The server answered B 401 and revoked nothing (README, the client SDK's "Session"): B uses
  // A's pair.
  assert.deepEqual(await b, a);
  assert.deepEqual(answeredB, [401]);
  assert.deepEqual(await storage.get(), a);
  assert.equal((await tabB.me()).id, a.user.id);
  const next = await tabB.refresh();
  assert.notEqual(next.refresh_token, a.refresh_token);
});

Deno.test("client - a refresh answered after logout() does not bring the session back", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const storage = memoryStorage();
  const signOuts: (DoormanError | null)[] = [];
  let reached = false;
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  const client = clientOf(server.url, {
    storage,
    onSignOut: (error) => signOuts.push(error),
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      if (url.endsWith("/auth/refresh")) {
        reached = true;
        await held; // the server rotated the token; its answer is slow to arrive
      }
      return res;
    },
  });
  await signIn(client, h.sms, "+14155550120");
  const refreshing = client.refresh().then(() => null, (error) => error);
  await waitFor(() => reached);

  await client.logout();
  assert.equal(await storage.get(), null);
  release();
  const error = await refreshing;
  assert.equal(await storage.get(), null, "signed out stays signed out");
  assert.ok(error instanceof DoormanError && error.status === 401, `${error}`);
  assert.deepEqual(signOuts, [null]);
});

Deno.test("client - the heartbeat loop waits the server's next_heartbeat_in, pauses while hidden and beats at once when shown", async () => {
  await using h = await startHarness({
    env: { HEARTBEAT_INTERVAL_SECONDS: "7", ADMIN_PHONES: ADMIN },
  });
  await using server = serveHarness(h);
  const net = countingFetch();
  const time = manualTimers();
  const page = new FakeDocument();
  const client = clientOf(server.url, { fetch: net.fetch, timers: time.timers, document: page });
  await signIn(client, h.sms, "+14155550105");
  const beats = () => net.count("POST /api/v1/presence/heartbeat");

  client.startHeartbeat();
  client.startHeartbeat(); // one loop, however often started
  await waitFor(() => time.pending.size === 1);
  assert.equal(beats(), 1);
  assert.deepEqual(time.delays(), [7_000]);

  // An admin changes the interval: the next answer says so, and the loop follows.
  const admin = await h.signIn(ADMIN);
  const put = await h.app.request("/api/v1/admin/settings", {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin.access_token}` },
    body: JSON.stringify({ heartbeat_interval_seconds: 11 }),
  });
  assert.equal(put.status, 200);
  await put.body?.cancel();
  time.fire();
  await waitFor(() => time.pending.size === 1);
  assert.equal(beats(), 2);
  assert.deepEqual(time.delays(), [11_000]);

  page.show(false);
  assert.equal(time.pending.size, 0, "a hidden page waits for nothing");
  page.show(true);
  await waitFor(() => time.pending.size === 1);
  assert.equal(beats(), 3, "shown again: a heartbeat at once");

  client.stopHeartbeat();
  assert.equal(time.pending.size, 0);
  page.show(false);
  page.show(true);
  assert.equal(time.pending.size, 0, "a stopped loop ignores the page");
  assert.equal(beats(), 3);
});

Deno.test("client - a heartbeat loop stopped mid-beat, then started while the page is hidden, beats once it is shown", async () => {
  await using h = await startHarness({ env: { HEARTBEAT_INTERVAL_SECONDS: "7" } });
  await using server = serveHarness(h);
  const net = countingFetch();
  const time = manualTimers();
  const page = new FakeDocument();
  const answered: Promise<unknown>[] = [];
  const client = clientOf(server.url, {
    timers: time.timers,
    document: page,
    fetch: (url, init) => {
      const res = net.fetch(url, init);
      if (url.endsWith("/heartbeat")) answered.push(res.then((r) => r.clone().text()));
      return res;
    },
  });
  await signIn(client, h.sms, "+14155550116");
  const beats = () => net.count("POST /api/v1/presence/heartbeat");

  client.startHeartbeat();
  client.stopHeartbeat(); // while its first beat is on the wire
  await Promise.all(answered);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(time.pending.size, 0, "the stopped loop schedules nothing");

  page.show(false);
  client.startHeartbeat(); // hidden: nothing yet
  assert.equal(beats(), 1);
  page.show(true);
  await waitFor(() => time.pending.size === 1);
  assert.equal(beats(), 2, "shown: a heartbeat at once");
  client.stopHeartbeat();
});

Deno.test("client - heartbeat failures back off (at least Retry-After) instead of spinning; 403 stops the loop", async () => {
  await using h = await startHarness({ env: { HEARTBEAT_INTERVAL_SECONDS: "7" } });
  await using server = serveHarness(h);
  const time = manualTimers();
  const errors: unknown[] = [];
  // The network fails twice, then the server says 429, then 403, each once.
  const failures: (() => Response)[] = [
    () => {
      throw new TypeError("network down");
    },
    () => {
      throw new TypeError("network down");
    },
    () =>
      Response.json(
        { error: { code: "RATE_LIMITED", message: "slow down" } },
        { status: 429, headers: { "retry-after": "5" } },
      ),
  ];
  let failNext: (() => Response)[] = [];
  const client = clientOf(server.url, {
    backoff: { initialMs: 100, maxMs: 1_000 },
    timers: time.timers,
    document: null,
    onError: (error) => errors.push(error),
    fetch: (url, init) => {
      const fail = url.endsWith("/heartbeat") ? failNext.shift() : undefined;
      return fail ? Promise.resolve().then(fail) : fetch(url, init);
    },
  });
  await signIn(client, h.sms, "+14155550106");
  failNext = failures;

  client.startHeartbeat();
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    await waitFor(() => time.pending.size === 1);
    delays.push(time.fire());
  }
  assert.ok(delays[0] >= 50 && delays[0] <= 100, `${delays}`);
  assert.ok(delays[1] >= 100 && delays[1] <= 200, `${delays}`);
  assert.equal(delays[2], 5_000);
  assert.equal(delays[3], 7_000, "back to the server's interval after a success");
  assert.equal(errors.length, 3);
  assert.equal((errors[2] as DoormanError).retryAfter, 5);

  failNext = [() =>
    Response.json({ error: { code: "ACCOUNT_DISABLED", message: "no" } }, {
      status: 403,
    })];
  await waitFor(() => errors.length === 4);
  assert.equal((errors[3] as DoormanError).code, "ACCOUNT_DISABLED");
  assert.equal(time.pending.size, 0, "no retry can help a disabled account");
});

Deno.test("client - presence.subscribe gets another user's changes over one shared socket, which closes with the last subscription", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const sockets = trackedSockets();
  const client = clientOf(server.url, { WebSocket: sockets.WebSocket });
  await signIn(client, h.sms, "+14155550107");
  const friend = await h.signIn("+14155550108");

  const first = presenceLog();
  const unsubscribeFirst = client.presence.subscribe([friend.user.id], first.onChange);
  await waitFor(() => first.seen.length === 1);
  assert.equal(first.seen[0].user_id, friend.user.id);
  assert.equal(first.seen[0].status, "online");

  const second = presenceLog();
  const unsubscribeSecond = client.presence.subscribe([friend.user.id], second.onChange);
  await waitFor(() => second.seen.length === 1); // the last known presence, at once

  const res = await h.post("/api/v1/auth/logout", {}, { token: friend.access_token });
  assert.equal(res.status, 204);
  await waitFor(() => first.seen.length === 2 && second.seen.length === 2);
  assert.deepEqual(first.statuses(), ["online", "offline"]);
  assert.deepEqual(second.statuses(), ["online", "offline"]);
  assert.equal(sockets.opened.length, 1, "one socket for every subscription");

  unsubscribeFirst();
  unsubscribeFirst(); // twice is once
  assert.equal(sockets.opened[0].readyState, WebSocket.OPEN, "still wanted by the second");
  unsubscribeSecond();
  await sockets.allClosed();
  client.close();
});

Deno.test("client - presence: a user unsubscribed and subscribed again in one go (a row rendering again) is told their presence now", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const sockets = trackedSockets();
  const client = clientOf(server.url, { WebSocket: sockets.WebSocket });
  await signIn(client, h.sms, "+14155550117");
  const friend = await h.signIn("+14155550118");
  const other = await h.signIn("+14155550119");
  // The rest of the list keeps the socket open throughout.
  const list = presenceLog();
  client.presence.subscribe([other.user.id], list.onChange);
  const row = presenceLog();
  const unsubscribeRow = client.presence.subscribe([friend.user.id], row.onChange);
  await waitFor(() => list.seen.length === 1 && row.seen.length === 1);

  unsubscribeRow();
  const again = presenceLog();
  client.presence.subscribe([friend.user.id], again.onChange);
  await waitFor(() => again.seen.length === 1);
  assert.deepEqual(again.seen[0], row.seen[0]);

  const res = await h.post("/api/v1/auth/logout", {}, { token: friend.access_token });
  assert.equal(res.status, 204);
  await waitFor(() => again.seen.length === 2);
  assert.deepEqual(again.statuses(), ["online", "offline"]);
  assert.equal(row.seen.length, 1, "the ended subscription hears nothing more");
  assert.equal(sockets.opened.length, 1);
  client.close();
  await sockets.allClosed();
});

Deno.test("client - presence asks for its socket's ticket with a refreshed token once the access token expired", async () => {
  // The friend stays online while the clock runs past two access tokens.
  await using h = await startHarness({
    env: { ACCESS_TOKEN_TTL_SECONDS: "60", PRESENCE_TIMEOUT_SECONDS: "600" },
  });
  await using server = serveHarness(h);
  const sockets = trackedSockets();
  const net = countingFetch();
  const client = clientOf(server.url, { WebSocket: sockets.WebSocket, fetch: net.fetch });
  await signIn(client, h.sms, "+14155550109");
  const friend = await h.signIn("+14155550110");
  h.clock.advance(61_000); // the access token the ticket's request sends has expired

  const log = presenceLog();
  client.presence.subscribe([friend.user.id], log.onChange);
  await waitFor(() => log.seen.length === 1);
  assert.equal(
    net.count("POST /api/v1/presence/ws-ticket"),
    2,
    "refused once (401), then asked again",
  );
  assert.equal(net.count("POST /api/v1/auth/refresh"), 1);
  assert.equal(sockets.opened.length, 1, "no socket was opened without a ticket");
  assert.match(sockets.opened[0].url, /\/api\/v1\/presence\/ws\?ticket=[A-Za-z0-9_-]{43}$/);

  // Dropped (the network, not the server): the next socket comes with a new ticket.
  h.clock.advance(61_000);
  const snapshot = net.count("POST /api/v1/presence/ws-ticket");
  sockets.opened[0].close();
  await waitFor(() => log.seen.length === 2);
  assert.equal(sockets.opened.length, 2);
  assert.deepEqual(log.seen[1], log.seen[0], "the new socket's snapshot");
  assert.notEqual(sockets.opened[1].url, sockets.opened[0].url, "tickets are used once");
  assert.equal(net.count("POST /api/v1/presence/ws-ticket"), snapshot + 2);
  assert.equal(net.count("POST /api/v1/auth/refresh"), 2, "re-auth after a second refresh");
  client.close();
  await sockets.allClosed();
});

Deno.test("client - presence stops and signs out when its sign-in is ended elsewhere (4001)", async () => {
  await using h = await startHarness({ env: { OTP_RESEND_COOLDOWN_SECONDS: "0" } });
  await using server = serveHarness(h);
  const sockets = trackedSockets();
  const signOuts: (DoormanError | null)[] = [];
  const client = clientOf(server.url, {
    WebSocket: sockets.WebSocket,
    onSignOut: (error) => signOuts.push(error),
  });
  const session = await signIn(client, h.sms, "+14155550120");
  const friend = await h.signIn("+14155550121");
  const log = presenceLog();
  client.presence.subscribe([friend.user.id], log.onChange);
  await waitFor(() => log.seen.length === 1);

  // Another device of the user ends this sign-in.
  const other = await h.signIn("+14155550120");
  const sid =
    JSON.parse(atob(session.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")))
      .sid;
  const res = await h.app.request(`/api/v1/sessions/${sid}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${other.access_token}` },
  });
  assert.equal(res.status, 204);
  await sockets.allClosed();
  await waitFor(() => signOuts.length === 1);
  assert.equal(signOuts[0]?.status, 401);
  await new Promise((resolve) => setTimeout(resolve, 300)); // a reconnect takes ≤ 20 ms
  assert.equal(sockets.opened.length, 1, "no socket without a sign-in");
  assert.equal(await client.session(), null);
  client.close();
});

Deno.test("client - presence stops for good when the account is disabled (4003)", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  await using server = serveHarness(h);
  const sockets = trackedSockets();
  const errors: unknown[] = [];
  const client = clientOf(server.url, {
    WebSocket: sockets.WebSocket,
    onError: (error) => errors.push(error),
  });
  const { user } = await signIn(client, h.sms, "+14155550111");
  const admin = await h.signIn(ADMIN);
  const log = presenceLog();
  client.presence.subscribe([admin.user.id], log.onChange);
  await waitFor(() => log.seen.length === 1);

  await setUserStatus(h, admin.access_token, user.id, "suspended");
  await waitFor(() => errors.length === 1);
  assert.ok(errors[0] instanceof DoormanError);
  assert.equal(errors[0].code, "ACCOUNT_DISABLED");
  await sockets.allClosed();
  await new Promise((resolve) => setTimeout(resolve, 300)); // a reconnect takes ≤ 20 ms
  assert.equal(sockets.opened.length, 1, "no reconnect after 4003");
  client.close();
});

Deno.test("client - logout ends the sign-in on the server and clears the storage", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const storage = memoryStorage();
  const signOuts: (DoormanError | null)[] = [];
  const client = clientOf(server.url, { storage, onSignOut: (error) => signOuts.push(error) });
  const session = await signIn(client, h.sms, "+14155550112");

  await client.logout();
  assert.equal(await storage.get(), null);
  assert.deepEqual(signOuts, [null]);
  const me = await h.get("/api/v1/me", { token: session.access_token });
  assert.equal(me.status, 401);
  await me.body?.cancel();
  const refresh = await h.post("/api/v1/auth/refresh", { refresh_token: session.refresh_token });
  assert.equal(refresh.status, 401);
  await refresh.body?.cancel();
  await client.logout(); // signed out already: nothing to do
  assert.deepEqual(signOuts, [null]);
});

Deno.test("client - localStorageStorage shares one session between clients, as tabs of an origin", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const key = `doorman.test.${crypto.randomUUID()}`;
  try {
    const tab = clientOf(server.url, { storage: localStorageStorage(key) });
    const { user } = await signIn(tab, h.sms, "+14155550113");
    const reloaded = clientOf(server.url, { storage: localStorageStorage(key) });
    assert.equal((await reloaded.me()).id, user.id);
    await reloaded.logout();
    assert.equal(localStorage.getItem(key), null);
    assert.equal(await tab.session(), null);
  } finally {
    localStorage.removeItem(key);
  }
});

Deno.test("client - presence reconnects after the server restarts and subscribes everything again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "doorman_sdk_" });
  const sms = startWebhookReceiver({ secret: "sdk-hook-secret" });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const env = {
    ...baseEnv(),
    PORT: String(port),
    KV_PATH: `${dir}/kv.sqlite`,
    APP_ENV: "test",
    JWT_SECRET: "sdk-test-jwt-secret-0123456789abcdef-0123",
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: sms.url,
    SMS_WEBHOOK_SECRET: "sdk-hook-secret",
    EMAIL_PROVIDER: "none",
  };
  let doorman: DoormanProcess | null = await startDoorman("doorman", env);
  const sockets = trackedSockets();
  const net = countingFetch();
  const watcher = clientOf(doorman.url, { WebSocket: sockets.WebSocket, fetch: net.fetch });
  const friend = clientOf(doorman.url);
  try {
    await signIn(watcher, sms, "+14155550114");
    const { user } = await signIn(friend, sms, "+14155550115");
    const log = presenceLog();
    watcher.presence.subscribe([user.id], log.onChange);
    await waitFor(() => log.seen.length === 1, 5_000);
    assert.equal(log.seen[0].status, "online");

    assert.equal((await stopDoorman(doorman, "SIGTERM")).code, 0);
    doorman = null;
    // Asked for a ticket again and again while nothing listens (no socket without one).
    const asked = net.count("POST /api/v1/presence/ws-ticket");
    await waitFor(() => net.count("POST /api/v1/presence/ws-ticket") >= asked + 3, 5_000);
    doorman = await startDoorman("doorman again", env);
    // The same port again: the socket comes back with a new ticket and subscribes again.
    await waitFor(() => log.seen.length === 2, 10_000);
    assert.deepEqual(log.seen[1], log.seen[0]);
    await friend.logout();
    await waitFor(() => log.seen.length === 3, 5_000);
    assert.deepEqual(log.statuses(), ["online", "online", "offline"]);
  } finally {
    watcher.close();
    friend.close();
    await sockets.allClosed();
    if (doorman) await stopDoorman(doorman, "SIGTERM");
    await sms.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client contract - the SDK's request bodies are exactly what the server's zod schemas take", () => {
  // Checked by the type checker: a schema and contract/api.ts drifting apart fails this file.
  const same: [
    Same<z.input<typeof codeRequestSchema>, CodeRequestBody>,
    Same<z.input<typeof codeVerifySchema>, CodeVerifyBody>,
  ] = [true, true];
  assert.deepEqual(same, [true, true]);
});

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

Deno.test("client - `deno bundle client/mod.ts` makes one self-contained browser module", async () => {
  const dir = await Deno.makeTempDir({ prefix: "doorman_bundle_" });
  try {
    const out = `${dir}/doorman.js`;
    const root = new URL("../../", import.meta.url).pathname;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "browser", "-o", out, "client/mod.ts"],
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const text = await Deno.readTextFile(out);
    assert.doesNotMatch(text, /^\s*import\s/m, "no imports left");
    assert.doesNotMatch(text, /\bDeno\./, "no server or Deno-only code");
    const sdk = await import(`file://${out}`);
    assert.equal(typeof sdk.createDoormanClient, "function");
    assert.equal(typeof sdk.memoryStorage, "function");
    assert.equal(typeof sdk.localStorageStorage, "function");
    assert.ok(
      new sdk.DoormanError({ status: 429, code: "RATE_LIMITED", message: "m" }) instanceof Error,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
