/**
 * Soak: one real `main.ts` under steady mixed load for a long while (10 minutes by default),
 * to see whether memory, the KV file or the error counts drift. Not part of CI.
 *
 *   deno task soak              # 10 minutes, 12 workers
 *   deno task soak 2            # 2 minutes
 *   deno task soak 10 24        # 24 load workers
 *
 * (`SOAK_MINUTES` and `SOAK_WORKERS` work too.) It starts `main.ts` (APP_ENV=test) on a KV
 * file in a fresh temp directory, with SMS going by the `webhook` provider to a receiver in
 * this process that keeps each phone's last code. Clients come from many addresses
 * (`TRUST_PROXY=true`, one `X-Forwarded-For` per client), so the shipped limits apply as to a
 * real population: 5 codes a phone an hour, 30 an address, a 60 s resend cooldown, 100 wrong
 * codes an address. Workers loop over a weighted mix of:
 *
 * - sign-ins (code request + verify; 15 % after one wrong code), returning users (a second
 *   device; often within the cooldown: 429) and requests repeated at once (429);
 * - a code burnt by five wrong guesses (then the right one gets 429 TOO_MANY_ATTEMPTS), and
 *   one guessing address that requests codes and guesses until it is refused (429);
 * - heartbeats (sessions go quiet and come back, so users time out: timeout 20 s), refreshes,
 *   `GET /me`, presence queries of 1–100 ids, logouts (the oldest of 1,500 sessions), admin
 *   stats reads;
 * - 8 WebSockets, each its own user's, that authenticate, watch 50 users and ping every 2 s,
 *   each replaced every 20–60 s with a refreshed token.
 *
 * Recorded: the server's RSS (VmRSS of /proc/<pid>/status) at the start, every minute and at
 * the end; the KV file's size (and its WAL) at the same moments; every answer by endpoint
 * and status; latency per endpoint. A markdown summary goes to stdout at the end (progress
 * to stderr); Ctrl-C ends the load early and still prints it. The exit code is 1 on any 5xx,
 * request without an answer, or unclean server stop.
 */
import { normalizePhone } from "../core/auth/recipients.ts";
import {
  baseEnv,
  callJson,
  familyOf,
  type JsonAnswer,
  outputOf,
  phonesIn,
  startDoorman,
  stopDoorman,
  warningsOf,
} from "./doorman_process.ts";

const minutes = Number(Deno.args[0] ?? Deno.env.get("SOAK_MINUTES") ?? 10);
const WORKERS = Number(Deno.args[1] ?? Deno.env.get("SOAK_WORKERS") ?? 12);
if (!(minutes > 0) || !Number.isInteger(WORKERS) || WORKERS < 1) {
  console.error("usage: deno task soak [minutes] [workers]");
  Deno.exit(2);
}
const DURATION_MS = Math.round(minutes * 60_000);
/** Each worker waits up to this long between its requests. */
const THINK_MS = 40;
const SOCKETS = 8;
/** Sessions kept for heartbeats and refreshes; over this the oldest log out. */
const MAX_SESSIONS = 1_500;
/** Client addresses ordinary clients come from. */
const ADDRESSES = 5_000;
/** The one address that guesses codes. */
const GUESSER = "198.51.100.66";
const HOOK_SECRET = "soak-hook-secret";
const JWT_SECRET = "soak-jwt-secret-0123456789abcdef-0123456789";
const PRESENCE_TIMEOUT_S = 20;
const HEARTBEAT_S = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
const randomAddress = () => {
  const n = Math.floor(Math.random() * ADDRESSES);
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

// --- the fake SMS gateway: keeps only each phone's last code, so this process stays small ---
const lastCodes = new Map<string, string>();
let smsReceived = 0;
const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  const { to, text } = await req.json() as { to: string; text: string };
  const code = text.match(/code is (\d+)/)?.[1];
  if (code) lastCodes.set(to, code);
  smsReceived++;
  return Response.json({ accepted: true });
});

// --- phones: fresh ones from several ranges, the guesser's, and the admin's ---
const admin = phonesIn("+1212555", normalizePhone).next().value as string;
const fresh = (function* () {
  for (const range of ["+1415555", "+1646555", "+1312555", "+1617555", "+1206555"]) {
    yield* phonesIn(range, normalizePhone);
  }
})();
const freshPhone = () => {
  const next = fresh.next();
  if (next.done) throw new Error("ran out of test phones: use fewer workers or minutes");
  return next.value;
};
const guesserPhones = [...phonesIn("+1303555", normalizePhone)];

const dir = await Deno.makeTempDir({ prefix: "doorman_soak_" });
const kvPath = `${dir}/kv.sqlite`;
const env = {
  ...baseEnv(),
  KV_PATH: kvPath,
  PORT: "0",
  APP_ENV: "test",
  JWT_SECRET,
  TRUST_PROXY: "true",
  SMS_PROVIDER: "webhook",
  SMS_WEBHOOK_URL: `http://127.0.0.1:${receiver.addr.port}/send`,
  SMS_WEBHOOK_SECRET: HOOK_SECRET,
  EMAIL_PROVIDER: "none",
  ADMIN_PHONES: admin,
  PRESENCE_TIMEOUT_SECONDS: String(PRESENCE_TIMEOUT_S),
  HEARTBEAT_INTERVAL_SECONDS: String(HEARTBEAT_S),
  // Soak phones come from six number ranges: their SMS cap is raised (still counted
  // and checked) and the automatic block is off, or each range would close after 30 SMS.
  SMS_PREFIX_LIMIT_PER_HOUR: "1000000",
  SMS_PREFIX_AUTOBLOCK: "false",
};

const server = await startDoorman("soak", env, { keepLines: 2_000 });
const base = server.url;
const wsUrl = base.replace(/^http/, "ws") + "/api/v1/presence/ws";

// --- measurements ---
async function rssKb(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kb = status.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1];
    return kb ? Number(kb) : null;
  } catch {
    return null;
  }
}

async function kvBytes(): Promise<{ db: number; wal: number }> {
  const size = async (path: string) => {
    try {
      return (await Deno.stat(path)).size;
    } catch {
      return 0;
    }
  };
  return { db: await size(kvPath), wal: await size(`${kvPath}-wal`) };
}

type Endpoint =
  | "request"
  | "request again"
  | "verify"
  | "wrong code"
  | "burn: guesses"
  | "burn: right code"
  | "guesser: request"
  | "guesser: verify"
  | "refresh"
  | "heartbeat"
  | "me"
  | "presence"
  | "logout"
  | "socket ticket"
  | "admin stats";

/** Answers per endpoint and status (with the error code), and latencies per endpoint. */
const answers = new Map<string, number>();
const latencies = new Map<Endpoint, number[]>();
const serverErrors: string[] = [];
const transportErrors: string[] = [];
const unexpected: string[] = [];
let requests = 0;

interface Sample {
  at: number;
  rssKb: number | null;
  kv: { db: number; wal: number };
  requests: number;
  errors5xx: number;
  sessions: number;
  sockets: number;
}
const samples: Sample[] = [];

interface Session {
  userId: string;
  phone: string;
  /** The client's address (`X-Forwarded-For`). */
  ip: string;
  access: string;
  refresh: string;
  /** Sends heartbeats while true; a quiet session lets its user time out. */
  active: boolean;
  /** A worker is using it: no other refreshes it or logs it out meanwhile. */
  busy: boolean;
}
const sessions: Session[] = [];
let adminSession: Session | null = null;
/** Phones that got a code recently, for returning users and cooldown hits. */
const recentPhones: { phone: string; ip: string }[] = [];
const socketStats = {
  opened: 0,
  ready: 0,
  presence: 0,
  pongs: 0,
  closes: new Map<number, number>(),
};
let openSockets = 0;

function record(endpoint: Endpoint, status: string, ms: number) {
  const key = `${endpoint}|${status}`;
  answers.set(key, (answers.get(key) ?? 0) + 1);
  const list = latencies.get(endpoint) ?? [];
  // A reservoir keeps memory flat over long runs.
  if (list.length < 20_000) list.push(ms);
  else list[Math.floor(Math.random() * list.length)] = ms;
  latencies.set(endpoint, list);
}

type Answer = JsonAnswer;

/** One request from `ip`; answers outside `expected` are listed in the summary. */
async function call(
  endpoint: Endpoint,
  init: { method: "GET" | "POST"; path: string; ip: string; body?: unknown; token?: string },
  expected: number[],
): Promise<Answer | null> {
  requests++;
  const started = performance.now();
  let answer;
  try {
    answer = await callJson(`${base}${init.path}`, {
      ...init,
      headers: { "x-forwarded-for": init.ip },
    });
  } catch (error) {
    if (transportErrors.length < 50) transportErrors.push(`${endpoint}: ${error}`);
    record(endpoint, "no answer", performance.now() - started);
    return null;
  }
  const { status, code, text } = answer;
  record(endpoint, `${status}${code ? ` ${code}` : ""}`, performance.now() - started);
  if (status >= 500 && serverErrors.length < 50) {
    serverErrors.push(`${endpoint} → ${status} ${text.slice(0, 300)}`);
  }
  if (!expected.includes(status) && unexpected.length < 50) {
    unexpected.push(`${endpoint} → ${status} ${text.slice(0, 300)}`);
  }
  return answer;
}

const wrongFor = (code: string) => code === "000000" ? "111111" : "000000";

/** Requests a code and verifies it (some wrong guesses first); returns the new session. */
async function signIn(
  phone: string,
  ip: string,
  options: { wrong?: number; mayBeLimited?: boolean } = {},
): Promise<Session | null> {
  const requested = await call("request", {
    method: "POST",
    path: "/api/v1/auth/otp/request",
    ip,
    body: { phone },
  }, options.mayBeLimited ? [202, 429] : [202]);
  if (requested?.status !== 202) return null;
  recentPhones.push({ phone, ip });
  if (recentPhones.length > 500) recentPhones.splice(0, 100);
  const requestId = String(requested.body!.request_id);
  const code = lastCodes.get(phone);
  lastCodes.delete(phone);
  if (!code) {
    if (unexpected.length < 50) unexpected.push(`202 for ${phone}, but no SMS arrived`);
    return null;
  }
  for (let i = 0; i < (options.wrong ?? 0); i++) {
    await call("wrong code", {
      method: "POST",
      path: "/api/v1/auth/otp/verify",
      ip,
      body: { request_id: requestId, code: wrongFor(code) },
    }, [400]);
  }
  const verified = await call("verify", {
    method: "POST",
    path: "/api/v1/auth/otp/verify",
    ip,
    body: { request_id: requestId, code },
  }, [200]);
  if (verified?.status !== 200) return null;
  const body = verified.body as {
    access_token: string;
    refresh_token: string;
    user: { id: string };
  };
  return {
    userId: body.user.id,
    phone,
    ip,
    access: body.access_token,
    refresh: body.refresh_token,
    active: true,
    busy: false,
  };
}

/** A code used up by wrong guesses: the 5th burns it, the right one then gets 429. */
async function burnCode(): Promise<void> {
  const phone = freshPhone();
  const ip = randomAddress();
  const requested = await call("request", {
    method: "POST",
    path: "/api/v1/auth/otp/request",
    ip,
    body: { phone },
  }, [202]);
  if (requested?.status !== 202) return;
  const code = lastCodes.get(phone) ?? "000000";
  lastCodes.delete(phone);
  const request_id = requested.body!.request_id;
  for (let i = 0; i < 5; i++) {
    await call("burn: guesses", {
      method: "POST",
      path: "/api/v1/auth/otp/verify",
      ip,
      body: { request_id, code: wrongFor(code) },
    }, [400]);
  }
  await call("burn: right code", {
    method: "POST",
    path: "/api/v1/auth/otp/verify",
    ip,
    body: { request_id, code },
  }, [429]);
}

/**
 * The guessing address: asks for codes (its 31st in an hour is refused) and guesses each
 * five times; past 100 wrong codes in an hour every guess it sends is refused.
 */
async function guess(): Promise<void> {
  const requested = await call("guesser: request", {
    method: "POST",
    path: "/api/v1/auth/otp/request",
    ip: GUESSER,
    body: { phone: pick(guesserPhones) },
  }, [202, 429]);
  if (requested?.status !== 202) return;
  for (let i = 0; i < 5; i++) {
    const answer = await call("guesser: verify", {
      method: "POST",
      path: "/api/v1/auth/otp/verify",
      ip: GUESSER,
      body: { request_id: requested.body!.request_id, code: String(100000 + i) },
    }, [400, 429]);
    if (answer?.status !== 400) return;
  }
}

/** A random session no other worker is using, marked busy; null if none is free. */
function take(): Session | null {
  for (let i = 0; i < 10; i++) {
    const session = pick(sessions);
    if (session && !session.busy) {
      session.busy = true;
      return session;
    }
  }
  return null;
}

async function logoutOldest(): Promise<void> {
  const at = sessions.findIndex((s) => !s.busy);
  if (at < 0) return;
  const [session] = sessions.splice(at, 1);
  await call("logout", {
    method: "POST",
    path: "/api/v1/auth/logout",
    ip: session.ip,
    body: { refresh_token: session.refresh },
    token: session.access,
  }, [204]);
}

async function refresh(session: Session): Promise<boolean> {
  const answer = await call("refresh", {
    method: "POST",
    path: "/api/v1/auth/refresh",
    ip: session.ip,
    body: { refresh_token: session.refresh },
  }, [200]);
  if (answer?.status !== 200) {
    // The sign-in ended: drop it.
    const at = sessions.indexOf(session);
    if (at >= 0) sessions.splice(at, 1);
    return false;
  }
  const body = answer.body as { access_token: string; refresh_token: string };
  if (familyOf(body.access_token) !== familyOf(session.access) && unexpected.length < 50) {
    unexpected.push(`refresh moved ${familyOf(session.access)} to another family`);
  }
  session.access = body.access_token;
  session.refresh = body.refresh_token;
  return true;
}

/** One step of a worker: a weighted pick of what a client population does. */
async function step(): Promise<void> {
  const roll = Math.random();
  if (roll < 0.04 || sessions.length < 20) {
    const session = await signIn(freshPhone(), randomAddress(), {
      wrong: Math.random() < 0.15 ? 1 : 0,
    });
    if (session) sessions.push(session);
    if (sessions.length > MAX_SESSIONS) await logoutOldest();
  } else if (roll < 0.05) {
    // A returning user (second device): within the cooldown or over 5 codes an hour: 429.
    const { phone, ip } = pick(recentPhones);
    const session = await signIn(phone, ip, { mayBeLimited: true });
    if (session) sessions.push(session);
  } else if (roll < 0.055) {
    // Asking again at once: the resend cooldown answers 429 RATE_LIMITED.
    const { phone, ip } = recentPhones.at(-1)!;
    await call("request again", {
      method: "POST",
      path: "/api/v1/auth/otp/request",
      ip,
      body: { phone },
    }, [429]);
  } else if (roll < 0.057) {
    await burnCode();
  } else if (roll < 0.06) {
    await guess();
  } else if (roll < 0.8) {
    const session = take();
    if (!session) return;
    try {
      if (roll < 0.5) {
        // Heartbeats from active sessions; now and then one goes quiet, or comes back.
        if (Math.random() < 0.03) session.active = !session.active;
        if (!session.active) return;
        await call("heartbeat", {
          method: "POST",
          path: "/api/v1/presence/heartbeat",
          ip: session.ip,
          token: session.access,
        }, [200]);
      } else if (roll < 0.65) {
        await refresh(session);
      } else {
        await call("me", {
          method: "GET",
          path: "/api/v1/me",
          ip: session.ip,
          token: session.access,
        }, [200]);
      }
    } finally {
      session.busy = false;
    }
  } else if (roll < 0.93) {
    const ids = new Set<string>();
    const n = 1 + Math.floor(Math.random() * 100);
    for (let i = 0; i < n; i++) ids.add(pick(sessions).userId);
    const session = take();
    if (!session) return;
    try {
      await call("presence", {
        method: "GET",
        path: `/api/v1/presence?user_ids=${[...ids].join(",")}`,
        ip: session.ip,
        token: session.access,
      }, [200]);
    } finally {
      session.busy = false;
    }
  } else if (roll < 0.95) {
    await logoutOldest();
  } else if (adminSession && !adminSession.busy) {
    adminSession.busy = true;
    try {
      const answer = await call("admin stats", {
        method: "GET",
        path: "/api/v1/admin/stats",
        ip: adminSession.ip,
        token: adminSession.access,
      }, [200]);
      // Access tokens live 15 minutes.
      if (answer?.status === 401) await refresh(adminSession);
    } finally {
      adminSession.busy = false;
    }
  }
}

/**
 * A WebSocket of `session`'s (opened with a ticket) that watches 50 users and pings until
 * `until` or `stop()`.
 */
async function socketLife(session: Session, until: number, stop: () => boolean): Promise<void> {
  const answer = await call("socket ticket", {
    method: "POST",
    path: "/api/v1/presence/ws-ticket",
    ip: session.ip,
    token: session.access,
  }, [200]);
  const ticket = answer?.status === 200 ? String(answer.body?.ticket ?? "") : "";
  if (!ticket) return;
  return await new Promise((resolve) => {
    socketStats.opened++;
    openSockets++;
    let timer: ReturnType<typeof setInterval> | undefined;
    const socket = new WebSocket(`${wsUrl}?ticket=${ticket}`);
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data));
      if (message.type === "ready") {
        socketStats.ready++;
        const ids = [...new Set(Array.from({ length: 50 }, () => pick(sessions).userId))];
        socket.send(JSON.stringify({ type: "subscribe", user_ids: ids }));
        timer = setInterval(() => {
          if (Date.now() > until || stop()) socket.close(1000);
          else if (socket.readyState === WebSocket.OPEN) {
            socket.send(JSON.stringify({ type: "ping" }));
          }
        }, 2_000);
      } else if (message.type === "presence") socketStats.presence++;
      else if (message.type === "pong") socketStats.pongs++;
    };
    socket.onerror = () => {};
    socket.onclose = (event) => {
      clearInterval(timer);
      openSockets--;
      socketStats.closes.set(event.code, (socketStats.closes.get(event.code) ?? 0) + 1);
      resolve();
    };
  });
}

// --- run ---
let stopping = false;
const onSigint = () => {
  if (stopping) Deno.exit(130);
  console.error("soak: stopping early (Ctrl-C again to quit at once)");
  stopping = true;
};
Deno.addSignalListener("SIGINT", onSigint);

const startedAt = Date.now();
const sample = async () => {
  samples.push({
    at: Date.now(),
    rssKb: await rssKb(server.pid),
    kv: await kvBytes(),
    requests,
    errors5xx: [...answers].filter(([k]) => /\|5\d\d/.test(k)).reduce((n, [, c]) => n + c, 0),
    sessions: sessions.length,
    sockets: openSockets,
  });
};
await sample();
console.error(
  `soak: ${minutes} min, ${WORKERS} workers, ${SOCKETS} sockets against ${base} ` +
    `(pid ${server.pid}, KV ${kvPath})`,
);

adminSession = await signIn(admin, randomAddress());
if (!adminSession) console.error("soak: the admin could not sign in; no stats reads");
const endAt = startedAt + DURATION_MS;
const done = () => stopping || Date.now() >= endAt;

const workers = Array.from({ length: WORKERS }, async () => {
  while (!done()) {
    await step();
    await sleep(Math.random() * THINK_MS);
  }
});
const socketLoops = Array.from({ length: SOCKETS }, async () => {
  const own = await signIn(freshPhone(), randomAddress());
  if (!own) return;
  while (sessions.length < 20 && !done()) await sleep(100);
  while (!done()) {
    await socketLife(own, Date.now() + 20_000 + Math.random() * 40_000, done);
    if (!done() && !await refresh(own)) return;
  }
});
const sampler = (async () => {
  for (let minute = 1; !done(); minute++) {
    const next = startedAt + minute * 60_000;
    while (Date.now() < Math.min(next, endAt) && !stopping) await sleep(200);
    if (done()) break;
    await sample();
    const s = samples.at(-1)!;
    console.error(
      `soak: minute ${minute}: RSS ${((s.rssKb ?? 0) / 1024).toFixed(1)} MiB, ` +
        `${s.requests} requests, KV ${(s.kv.db / 1e6).toFixed(1)} MB + WAL ` +
        `${(s.kv.wal / 1e6).toFixed(1)} MB, ${s.errors5xx} 5xx`,
    );
  }
})();
await Promise.all([...workers, ...socketLoops, sampler]);
const loadMs = Date.now() - startedAt;
await sample();
const stopped = await stopDoorman(server, "SIGTERM");
const afterStop = await kvBytes();
await receiver.shutdown();
Deno.removeSignalListener("SIGINT", onSigint);

// --- the summary ---
const mib = (kb: number | null) => kb === null ? "n/a" : `${(kb / 1024).toFixed(1)} MiB`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const percentile = (list: number[], p: number) => {
  if (list.length === 0) return 0;
  const sorted = [...list].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
};
const byStatus = new Map<string, number>();
for (const [key, n] of answers) {
  const status = key.split("|")[1];
  byStatus.set(status, (byStatus.get(status) ?? 0) + n);
}
const total = [...answers.values()].reduce((a, b) => a + b, 0);
const first = samples[0];
const last = samples.at(-1)!;
const rssValues = samples.map((s) => s.rssKb ?? 0);
const lines: string[] = [
  `## Soak: ${(loadMs / 60_000).toFixed(1)} min of mixed load`,
  "",
  `${new Date(startedAt).toISOString()}, Deno ${Deno.version.deno}, ${WORKERS} workers ` +
  `(0–${THINK_MS} ms between requests) + ${SOCKETS} WebSockets, one \`main.ts\` ` +
  `(APP_ENV=test, presence timeout ${PRESENCE_TIMEOUT_S} s, heartbeat ${HEARTBEAT_S} s, ` +
  `shipped limits, clients from ${ADDRESSES} addresses). ${total} requests ` +
  `(${(total / (loadMs / 1000)).toFixed(0)}/s), ${smsReceived} SMS delivered to the fake ` +
  `gateway.`,
  "",
  "| sample | at | server RSS | KV file | KV WAL | requests so far | 5xx so far | sessions | sockets open |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...samples.map((s, i) =>
    `| ${i === 0 ? "start" : i === samples.length - 1 ? "end" : `minute ${i}`} | ` +
    `${((s.at - startedAt) / 1000).toFixed(0)} s | ${mib(s.rssKb)} | ${mb(s.kv.db)} | ` +
    `${mb(s.kv.wal)} | ${s.requests} | ${s.errors5xx} | ${s.sessions} | ${s.sockets} |`
  ),
  "",
  `RSS: ${mib(first.rssKb)} at the start (idle), ${mib(last.rssKb)} at the end` +
  (samples.length > 2
    ? ` (${mib(samples[1].rssKb)} after the first minute, max ${mib(Math.max(...rssValues))})`
    : "") +
  `. KV: ${mb(first.kv.db + first.kv.wal)} at the start, ${mb(last.kv.db + last.kv.wal)} ` +
  `at the end (file + WAL), ${mb(afterStop.db)} + ${mb(afterStop.wal)} WAL after the server ` +
  `stopped.`,
  "",
  "### Answers by status",
  "",
  "| status | count |",
  "| --- | ---: |",
  ...[...byStatus].sort(([x], [y]) => x.localeCompare(y)).map(([status, n]) =>
    `| ${status} | ${n} |`
  ),
  "",
  "### By endpoint",
  "",
  "| endpoint | answers | p50 ms | p99 ms | max ms |",
  "| --- | --- | ---: | ---: | ---: |",
  ...[...latencies].sort(([x], [y]) => x.localeCompare(y)).map(([endpoint, list]) => {
    const statuses = [...answers].filter(([k]) => k.startsWith(`${endpoint}|`))
      .map(([k, n]) => `${k.split("|")[1]}: ${n}`).join(", ");
    return `| ${endpoint} | ${statuses} | ${percentile(list, 0.5).toFixed(1)} | ` +
      `${percentile(list, 0.99).toFixed(1)} | ${Math.max(...list).toFixed(1)} |`;
  }),
  "",
  `WebSockets: ${socketStats.opened} opened, ${socketStats.ready} authenticated, ` +
  `${socketStats.presence} presence messages, ${socketStats.pongs} pongs; closed with ` +
  `${[...socketStats.closes].map(([code, n]) => `${code} ×${n}`).join(", ") || "none"}.`,
  "",
  `Server stop: SIGTERM → exit code ${stopped.code} in ${stopped.ms.toFixed(0)} ms` +
  `${stopped.killed ? " (did not stop in time: killed)" : ""}. Server stderr: ` +
  `${warningsOf([server])}.`,
];
const listed = (title: string, items: string[]) => {
  if (items.length > 0) lines.push("", title, "", ...items.slice(0, 10).map((e) => `- \`${e}\``));
};
listed("5xx answers (the first):", serverErrors);
listed("Requests without an answer (the first):", transportErrors);
listed("Answers other than expected (the first):", unexpected);
console.log(lines.join("\n"));
if (serverErrors.length > 0 || stopped.code !== 0) console.error(outputOf(server));
await Deno.remove(dir, { recursive: true });
Deno.exit(serverErrors.length > 0 || transportErrors.length > 0 || stopped.code !== 0 ? 1 : 0);
