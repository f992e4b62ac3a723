import type { Hono } from "hono";
import { type Clock, FakeClock } from "../core/clock.ts";
import { loadConfig } from "../core/config.ts";
import { type AppContext, createContext } from "../core/context.ts";
import { memoryLogger } from "../core/log.ts";
import { createApp } from "../core/web/app.ts";
import type { AppEnv } from "../core/web/env.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./fakes/webhook_receiver.ts";

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
  options: { env?: Record<string, string>; kv?: Deno.Kv; clock?: Clock } = {},
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
  const kv = options.kv ?? await Deno.openKv(":memory:");
  const ctx = await createContext(config, { kv, clock, log });
  const app = createApp(ctx);

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
      ctx.close();
      await sms.close();
      await email.close();
      try {
        if (ownKv) kv.close();
      } catch {
        // A test closed it on purpose.
      }
    },
  };
  return harness;
}

/** Reads a JSON error body and returns its `error` object. */
export async function errorOf(res: Response): Promise<Record<string, unknown>> {
  const body = await res.json();
  return body.error;
}
