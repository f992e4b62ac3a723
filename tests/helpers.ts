import assert from "node:assert/strict";
import type { Hono } from "hono";
import { type Clock, FakeClock } from "../core/clock.ts";
import { loadConfig } from "../core/config.ts";
import { type AppContext, createContext } from "../core/context.ts";
import { Lifecycle } from "../core/lifecycle.ts";
import { startEventTail } from "../core/live/tail.ts";
import { memoryLogger } from "../core/log.ts";
import { createApp } from "../app.ts";
import { PROJECT_ROOT, type WebAssets } from "../web/assets.ts";
import type { AppEnv } from "../web/env.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook_receiver.ts";
import { assertNoKvViolations, guardKv, kvViolations } from "../fakes/kv_guard.ts";

/** A secret good enough for tests (production needs 32 bytes too). */
export const TEST_SECRET = "test-secret-test-secret-test-secret-0123";

/** A Doorman instance over in-memory KV, a fake clock and fake SMS/email receivers. */
export interface Harness extends AsyncDisposable {
  app: Hono<AppEnv>;
  ctx: AppContext;
  clock: FakeClock;
  sms: WebhookReceiver;
  email: WebhookReceiver;
  log: ReturnType<typeof memoryLogger>;
  /** `app.request()` with a JSON body and the given client IP. */
  post(path: string, body: unknown, init?: { ip?: string; token?: string }): Promise<Response>;
  get(path: string, init?: { token?: string; ip?: string }): Promise<Response>;
  /** Requests a code for `phone` and returns its request id and the code the fake received. */
  requestCode(phone: string, ip?: string): Promise<{ requestId: string; code: string }>;
  /** Signs `phone` in and returns the verify answer. */
  signIn(phone: string): Promise<SignInBody>;
}

/** The verify/refresh answer. */
export interface SignInBody {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  user: { id: string; phone: string | null; email: string | null; status: string; role: string };
}

/** Starts a harness; `env` adds or overrides environment variables. */
export async function startHarness(
  options: { env?: Record<string, string>; kv?: Deno.Kv; clock?: Clock; assets?: WebAssets } = {},
): Promise<Harness> {
  const sms = startWebhookReceiver({ secret: "sms-hook-secret" });
  const email = startWebhookReceiver({ secret: "email-hook-secret" });
  const config = loadConfig({
    APP_ENV: "test",
    JWT_SECRET: TEST_SECRET,
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: sms.url,
    SMS_WEBHOOK_SECRET: "sms-hook-secret",
    EMAIL_PROVIDER: "webhook",
    EMAIL_WEBHOOK_URL: email.url,
    EMAIL_WEBHOOK_SECRET: "email-hook-secret",
    ...options.env,
  });
  // A test passing a real clock does not move it by hand.
  const clock = (options.clock ?? new FakeClock()) as FakeClock;
  const log = memoryLogger();
  const ownKv = !options.kv;
  // Guarded, so anything Deno Deploy or a denokv server would refuse fails the test.
  const kv = guardKv(options.kv ?? await Deno.openKv(":memory:"));
  const violationsBefore = kvViolations.length;
  // Pages need a bundle URL; tests that load it in a browser build it and pass the real one.
  const assets = options.assets ?? {
    bundleUrl: "/static/build/islands.test.js",
    cssUrl: "/static/admin.css",
    staticDir: `${PROJECT_ROOT}/static`,
    buildDir: `${PROJECT_ROOT}/static/build`,
  };
  const ctx = await createContext(config, kv, { clock, log });
  const app = createApp(ctx, { assets });
  // What main.ts starts, started the same way (Telegram polling and cron are left to tests).
  const life = new Lifecycle(log);
  if (ownKv) life.add("kv", () => closeQuietly(kv));
  life.add("context", () => ctx.close());
  life.add("socket hub", ctx.presence.hub.follow(ctx.bus));
  life.add("sign-in cache", ctx.sessionCache.follow(ctx.bus));
  life.add("API key cache", ctx.apiKeys.follow(ctx.bus));
  life.add("presence cache", ctx.presence.cache.follow(ctx.bus));
  life.add("presence visibility", ctx.presence.visibility.follow(ctx.bus));
  life.add("event tail", startEventTail(ctx));

  const send = async (path: string, init: RequestInit, ip = "203.0.113.7") =>
    await app.request(path, init, {
      remoteAddr: { transport: "tcp", hostname: ip, port: 50000 },
    });

  const harness: Harness = {
    app,
    ctx,
    clock,
    sms,
    email,
    log,
    post(path, body, init = {}) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      return send(path, { method: "POST", headers, body: JSON.stringify(body) }, init.ip);
    },
    get(path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      return send(path, { headers }, init.ip);
    },
    async requestCode(phone, ip) {
      const res = await harness.post("/api/v1/auth/otp/request", { phone }, { ip });
      if (res.status !== 202) throw new Error(`request failed: ${res.status} ${await res.text()}`);
      const body = await res.json();
      const code = sms.lastCode(phone.replace(/[^\d+]/g, ""));
      if (!code) throw new Error(`no code reached ${phone}`);
      return { requestId: body.request_id, code };
    },
    async signIn(phone) {
      const { requestId, code } = await harness.requestCode(phone);
      const res = await harness.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
      if (res.status !== 200) throw new Error(`verify failed: ${res.status} ${await res.text()}`);
      return await res.json();
    },
    async [Symbol.asyncDispose]() {
      await life.close();
      await sms.close();
      await email.close();
      assertNoKvViolations(violationsBefore);
    },
  };
  return harness;
}

function closeQuietly(kv: Deno.Kv): void {
  try {
    kv.close();
  } catch {
    // A test closed it on purpose.
  }
}

/** Reads a JSON error body and returns its `error` object. */
export async function errorOf(res: Response): Promise<Record<string, unknown>> {
  const body = await res.json();
  return body.error;
}

/** Serves a harness's app on a loopback port (for WebSockets and real sockets). */
export function serveHarness(h: Harness): { url: string; wsUrl: string } & AsyncDisposable {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => h.app.fetch(req, { remoteAddr: info.remoteAddr }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    wsUrl: `ws://127.0.0.1:${server.addr.port}/api/v1/presence/ws`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Asks for a presence socket ticket with `token`; returns the socket URL that uses it. */
export async function ticketUrl(h: Harness, wsUrl: string, token: string): Promise<string> {
  const res = await h.post("/api/v1/presence/ws-ticket", {}, { token });
  if (res.status !== 200) throw new Error(`ticket refused: ${res.status} ${await res.text()}`);
  const { ticket } = await res.json();
  return `${wsUrl}?ticket=${ticket}`;
}

/** A test WebSocket client that queues what the server says. */
export interface TestSocket extends AsyncDisposable {
  socket: WebSocket;
  send(message: unknown): void;
  /** The next message (waits up to `ms`). */
  next(ms?: number): Promise<Record<string, unknown>>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a socket and waits until it is open. */
export async function openSocket(url: string): Promise<TestSocket> {
  const socket = new WebSocket(url);
  const inbox: Record<string, unknown>[] = [];
  const waiters: ((message: Record<string, unknown>) => void)[] = [];
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("socket failed to open"));
  });
  return {
    socket,
    closed,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    next(ms = 2000) {
      const queued = inbox.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no message in time")), ms);
        waiters.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      });
    },
    async [Symbol.asyncDispose]() {
      if (socket.readyState === WebSocket.OPEN) socket.close();
      await closed;
    },
  };
}

/** An admin (`adminToken`) sets a user's status through the admin API; asserts it was taken. */
export async function setUserStatus(
  h: Pick<Harness, "app">,
  adminToken: string,
  userId: string,
  status: "active" | "inactive" | "suspended" | "banned",
): Promise<void> {
  const res = await h.app.request(`/api/v1/admin/users/${userId}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ status }),
  });
  assert.equal(res.status, 200, await res.text());
}

/** Waits until `check()` is true, polling every 5 ms for up to `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every live event the harness's bus carries from now on. */
export function recordEvents(h: Harness): { type: string; at: string; [key: string]: unknown }[] {
  const events: { type: string; at: string; [key: string]: unknown }[] = [];
  h.ctx.bus.subscribe((event) => events.push(event.data));
  return events;
}

/** US area codes, for phones spread over many number ranges. */
const AREA_CODES = [
  201,
  202,
  203,
  205,
  206,
  207,
  208,
  209,
  210,
  212,
  213,
  214,
  215,
  216,
  217,
  218,
  219,
  224,
  225,
  228,
  229,
  231,
  234,
  239,
  240,
  248,
  251,
  252,
  253,
  254,
];

/**
 * The `i`th of many valid US phones spread over 30 number ranges (`+1201…`, `+1202…`, …), so
 * tests of other limits do not meet the per-range SMS cap or the range block.
 */
export function spreadPhone(i: number): string {
  const area = AREA_CODES[i % AREA_CODES.length];
  const line = 100 + Math.floor(i / AREA_CODES.length);
  return `+1${area}555${String(line).padStart(4, "0")}`;
}
