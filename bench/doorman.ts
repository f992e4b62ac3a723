/**
 * Doorman built in-process the way main.ts builds it, for the bench servers: the context
 * over a given KV, the HTTP app, the socket hub's subscription and the event tail (no cron:
 * it would fire mid-run), with SMS going by the `webhook` provider to a receiver in this
 * process that keeps each code, so sign-ins can be prepared through the app itself.
 */
import type { AppContext } from "../core/context.ts";

/** A sign-in made through the app. */
export interface SignedIn {
  access: string;
  refresh: string;
  userId: string;
}

/** What the bench servers use of an in-process Doorman. */
export interface BenchDoorman {
  ctx: AppContext;
  /** The app's handler, for `Deno.serve`. */
  fetch(req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response | Promise<Response>;
  /** Asks for a code for `phone(n)` from its own loopback address; returns the code sent. */
  requestCode(n: number): Promise<{ requestId: string; code: string }>;
  /** Signs in `phone(n)` (code request + verify). */
  signIn(n: number): Promise<SignedIn>;
  /** Calls the app in-process as a client at loopback address number `n`. */
  call(path: string, init: RequestInit, n: number): Promise<Response>;
  /**
   * From now on every log line is written as production writes it (core/log.ts `writeLine`: JSON
   * lines on stdout, warnings and errors on stderr); before, the preparation's lines are dropped,
   * as they are not measured and stdout must start with the ready line.
   */
  startLogging(): void;
}

/** First phone number the preparation uses: `+1415` + 7 digits, valid for libphonenumber. */
const PHONE_BASE = 2_000_000;

/** The `n`-th bench phone (n < 8,000,000). */
export function phone(n: number): string {
  return `+1415${PHONE_BASE + n}`;
}

/**
 * Builds Doorman over `kv`. `env` is added to the bench's configuration (raised limits, the
 * SMS receiver); `captureCodes: false` stops keeping codes (a target that only asks for them).
 */
export async function startDoorman(
  kv: Deno.Kv,
  options: { env?: Record<string, string>; captureCodes?: boolean } = {},
): Promise<BenchDoorman> {
  // Imported here so the ceilings run even while the app does not load (a rewrite mid-way).
  const { createApp } = await import("../app.ts");
  const { loadConfig } = await import("../core/config.ts");
  const { createContext } = await import("../core/context.ts");
  const { startEventTail } = await import("../core/live/tail.ts");
  const { createLogger, writeLine } = await import("../core/log.ts");
  const { loadAssets } = await import("../web/assets.ts");

  const codes = new Map<string, string>();
  const capture = options.captureCodes ?? true;
  const sms = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const { to, text } = await req.json() as { to: string; text: string };
    if (capture) codes.set(to, String(text).match(/\b(\d{4,10})\b/)?.[1] ?? "");
    return Response.json({ ok: true });
  });
  // `BENCH_SINK_URL`: bench/sink.ts in another process takes what goes to providers: the SMS
  // of a target that keeps no codes, and with `BENCH_EVENT_WEBHOOKS=1` every event.
  const sink = Deno.env.get("BENCH_SINK_URL");
  const hooks = Deno.env.get("BENCH_EVENT_WEBHOOKS") === "1";
  if (hooks && !sink) throw new Error("BENCH_EVENT_WEBHOOKS needs BENCH_SINK_URL");
  const config = loadConfig({
    APP_ENV: "test",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret",
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: `http://127.0.0.1:${sms.addr.port}/`,
    // Raised so one client can ask for codes for many phones, but still enforced: the limit
    // records are read and written on every request, as in production.
    OTP_RATE_LIMIT_PER_HOUR: "1000",
    OTP_IP_RATE_LIMIT_PER_HOUR: "1000000",
    OTP_RESEND_COOLDOWN_SECONDS: "0",
    // Pumping protection: every bench phone is in the +1415 range, so the range cap is raised
    // (still counted and checked on every request) and the automatic block is off.
    SMS_PREFIX_LIMIT_PER_HOUR: "1000000",
    SMS_PREFIX_AUTOBLOCK: "false",
    OTP_VERIFY_FAILURES_PER_IP_PER_HOUR: "1000000",
    ...(sink && !capture ? { SMS_WEBHOOK_URL: `${sink}sms` } : {}),
    ...(hooks
      ? { EVENT_WEBHOOK_URL: `${sink}events`, EVENT_WEBHOOK_SECRET: "bench-hook-secret" }
      : {}),
    // `ACCESS_TOKEN_ALG=EdDSA deno task bench …` measures the other signing algorithm.
    ...(Deno.env.get("ACCESS_TOKEN_ALG")
      ? { ACCESS_TOKEN_ALG: Deno.env.get("ACCESS_TOKEN_ALG")! }
      : {}),
    ...options.env,
  });
  let logging = false;
  const ctx = await createContext(config, kv, {
    log: createLogger({
      json: true,
      write: (line, level) => {
        if (logging) writeLine(line, level);
      },
    }),
  });
  const app = createApp(ctx, { assets: await loadAssets() });
  ctx.presence.hub.follow(ctx.bus);
  startEventTail(ctx);

  // Each in-process caller gets its own loopback address, so preparing many sign-ins at
  // once does not pile onto one per-IP limit record (the load itself comes from one IP).
  const call = async (path: string, init: RequestInit, n: number) =>
    await app.request(path, init, {
      remoteAddr: {
        transport: "tcp",
        hostname: `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        port: 40000,
      },
    });
  const post = async (path: string, body: unknown, n: number) => {
    const response = await call(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }, n);
    const json = await response.json();
    if (!response.ok) {
      throw new Error(`${path} answered ${response.status} ${JSON.stringify(json)}`);
    }
    return json;
  };
  const codeOf = async (to: string) => {
    // Delivery is awaited inside the request today; poll in case it becomes asynchronous.
    for (let waited = 0; waited < 10_000; waited += 5) {
      const code = codes.get(to);
      if (code !== undefined) {
        codes.delete(to);
        return code;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`no code arrived for ${to}`);
  };
  const requestCode = async (n: number) => {
    const { request_id } = await post("/api/v1/auth/otp/request", { phone: phone(n) }, n);
    return { requestId: request_id as string, code: await codeOf(phone(n)) };
  };
  return {
    ctx,
    fetch: (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr }),
    call,
    requestCode,
    startLogging: () => logging = true,
    async signIn(n) {
      const { requestId, code } = await requestCode(n);
      const answer = await post("/api/v1/auth/otp/verify", { request_id: requestId, code }, n);
      return { access: answer.access_token, refresh: answer.refresh_token, userId: answer.user.id };
    },
  };
}

/** Runs `make(0..n-1)`, `concurrency` at a time, printing progress every two seconds. */
export async function inParallel<T>(
  what: string,
  n: number,
  make: (i: number) => Promise<T>,
  concurrency = 50,
): Promise<T[]> {
  const out: T[] = new Array(n);
  const started = performance.now();
  let next = 0;
  let done = 0;
  const progress = setInterval(() => {
    const rate = done / ((performance.now() - started) / 1000);
    console.error(`  ${what}: ${done}/${n} (${rate.toFixed(0)}/s)`);
  }, 2_000);
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await make(i);
        done++;
      }
    }));
  } finally {
    clearInterval(progress);
  }
  console.error(`  ${what}: ${n} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return out;
}
