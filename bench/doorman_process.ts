/**
 * A real `main.ts` in a child process: started with an environment, found by its "Doorman is
 * listening" line, its output read to the end (so a chatty server never blocks on a full pipe)
 * and kept for failure messages. It lives in bench/ because `deno task soak` runs it (bench/
 * imports nothing from tests/); the two-process, kill -9 and webhook tests use it too. The KV
 * guard is preloaded: what a denokv server or Deno Deploy would refuse is printed to stderr
 * (`kvGuardLines`).
 */
import { KV_GUARD_PRELOAD } from "../fakes/kv_guard.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** One running `main.ts`, with everything it printed so far. */
export interface DoormanProcess {
  name: string;
  url: string;
  pid: number;
  child: Deno.ChildProcess;
  stdout: string[];
  stderr: string[];
  /** When it printed its "listening" line (ms since the epoch). */
  listeningAt: number;
  /** Resolves once both pipes reached their end. */
  drained: Promise<void>;
}

/** How a process ended. */
export interface Stopped {
  code: number;
  signal: Deno.Signal | null;
  ms: number;
  /** Still running `withinMs` after the signal, so killed. */
  killed: boolean;
}

/**
 * Starts `main.ts` with exactly `env` and waits for its "listening" line; rejects (and kills
 * it) if it exits first or takes longer than `timeoutMs`. `keepLines` caps how many lines of
 * each pipe are kept (a long soak logs a lot).
 */
export async function startDoorman(
  name: string,
  env: Record<string, string>,
  options: { timeoutMs?: number; keepLines?: number } = {},
): Promise<DoormanProcess> {
  const keep = options.keepLines ?? Infinity;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      ...KV_GUARD_PRELOAD,
      "main.ts",
    ],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let listening: (url: string) => void = () => {};
  const port = new Promise<string>((resolve) => listening = resolve);
  const pump = async (
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    into: string[],
    watch: boolean,
  ) => {
    let partial = "";
    const push = (line: string) => {
      into.push(line);
      if (into.length > keep) into.splice(0, into.length - keep);
    };
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        push(line);
        const match = watch && line.match(/Doorman is listening\s+url=http:\/\/[^\s:]+:(\d+)/);
        if (match) listening(`http://127.0.0.1:${match[1]}`);
      }
    }
    if (partial) push(partial);
  };
  const drained = Promise.all([pump(child.stdout, stdout, true), pump(child.stderr, stderr, false)])
    .then(() => {});
  const exited = child.status.then((status) => {
    throw new Error(
      `${name} exited (code ${status.code}, signal ${status.signal}) before listening:\n` +
        stderr.join("\n"),
    );
  });
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name} did not listen within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const process = {
    name,
    url: "",
    pid: child.pid,
    child,
    stdout,
    stderr,
    listeningAt: 0,
    drained,
  };
  try {
    process.url = await Promise.race([port, exited, tooSlow]);
    process.listeningAt = Date.now();
    return process;
  } catch (error) {
    await stopDoorman(process, "SIGKILL");
    throw error;
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
}

/**
 * Sends `signal` (if still running) and waits for the exit and the end of the output; a
 * process still running `withinMs` later is killed, so a hung server fails instead of hanging.
 */
export async function stopDoorman(
  server: Pick<DoormanProcess, "child" | "drained">,
  signal: Deno.Signal,
  withinMs = 12_000,
): Promise<Stopped> {
  const started = performance.now();
  try {
    server.child.kill(signal);
  } catch {
    // Exited already.
  }
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    try {
      server.child.kill("SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }, withinMs);
  const status = await server.child.status;
  const ms = performance.now() - started;
  clearTimeout(timer);
  await server.drained;
  return { code: status.code, signal: status.signal, ms, killed };
}

/**
 * What a server printed, for failure messages: stderr (errors with their stacks) without
 * `noise`, and the tail of stdout.
 */
export function outputOf(server: DoormanProcess, noise = /refresh token reused/): string {
  const stderr = server.stderr.filter((line) => !noise.test(line));
  const skipped = server.stderr.length - stderr.length;
  return `--- ${server.name} stderr (${skipped} lines matching ${noise} left out) ---\n` +
    `${stderr.slice(-200).join("\n")}\n` +
    `--- ${server.name} stdout (last 40 lines) ---\n${server.stdout.slice(-40).join("\n")}`;
}

/** Server stderr lines counted by level and message (fields left out). */
export function warningsOf(servers: DoormanProcess[]): string {
  const kinds = new Map<string, number>();
  for (const server of servers) {
    for (const line of server.stderr) {
      // Stack lines continue the line before; uncaught errors print without a level.
      if (/^\s/.test(line) || line === "") continue;
      const [, level = "", message = line] = line.match(/^([A-Z]+)\s+(.*?)(?:\s{2}|$)/) ?? [];
      const kind = `${server.name} ${level} ${message.slice(0, 80)}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
  }
  return kinds.size === 0 ? "none" : [...kinds].map(([kind, n]) => `${kind} ×${n}`).join("; ");
}

/** Doorman's own configuration variables: a child gets only the ones a caller sets. */
const DOORMAN_VARIABLES =
  /^(PORT|APP_ENV|KV_PATH|JWT_SECRET|PUBLIC_URL|TRUST_PROXY|CORS_ORIGINS|ADMIN_[A-Z]+|(TELEGRAM|SMS|TWILIO|EMAIL|SMTP|OTP|PRESENCE|HEARTBEAT|ACCESS_TOKEN|REFRESH_TOKEN|EVENT_WEBHOOK)_[A-Z_]+|DENO_DEPLOYMENT_ID)$/;

/**
 * This process's environment (PATH, HOME, DENO_DIR, …) without any Doorman setting, so what
 * a developer exported cannot change what a child process is tested with.
 */
export function baseEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => !DOORMAN_VARIABLES.test(name)),
  );
}

/**
 * The environment of a child under test: `baseEnv`, a KV file, any free port, SMS by webhook to
 * a fake receiver, no email. Callers add their own settings on top.
 */
export function doormanEnv(
  options: { kvPath: string; jwtSecret: string; smsUrl: string; smsSecret: string },
): Record<string, string> {
  return {
    ...baseEnv(),
    KV_PATH: options.kvPath,
    PORT: "0",
    APP_ENV: "test",
    JWT_SECRET: options.jwtSecret,
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: options.smsUrl,
    SMS_WEBHOOK_SECRET: options.smsSecret,
    EMAIL_PROVIDER: "none",
  };
}

/**
 * Limits out of the way of a load test, whose clients all come from 127.0.0.1 and a few number
 * ranges: it tests the load, not rate limits or SMS pumping (their own tests do).
 */
export const UNDER_LOAD: Record<string, string> = {
  OTP_RATE_LIMIT_PER_HOUR: "1000",
  OTP_IP_RATE_LIMIT_PER_HOUR: "1000000",
  SMS_PREFIX_LIMIT_PER_HOUR: "1000000",
  SMS_PREFIX_AUTOBLOCK: "false",
  OTP_RESEND_COOLDOWN_SECONDS: "0",
};

/** Valid, canonical phones `<range>0100` … `<range>9999` (e.g. range "+1415555"). */
export function* phonesIn(range: string, normalize: (phone: string) => string | null) {
  for (let i = 100; i < 10_000; i++) {
    const phone = `${range}${String(i).padStart(4, "0")}`;
    if (normalize(phone) === phone) yield phone;
  }
}

/** The `sid` (refresh family) claim of an access token. */
export function familyOf(accessToken: string): string {
  const payload = accessToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "="))).sid;
}

/** An answer of a child Doorman: status, the body parsed when it is JSON, and as text. */
export interface JsonAnswer {
  status: number;
  body: Record<string, unknown> | null;
  text: string;
  headers: Headers;
  /** The error code of an error answer (`RATE_LIMITED`, …), if any. */
  code: string | undefined;
}

/**
 * One JSON request to a child Doorman (a Bearer `token`, extra `headers`), within 15 s.
 * Throws only when no answer came (connection refused or cut, timeout).
 */
export async function callJson(
  url: string,
  init: {
    method: "GET" | "POST";
    body?: unknown;
    token?: string;
    headers?: Record<string, string>;
  },
): Promise<JsonAnswer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, {
    method: init.method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON; kept as text.
  }
  const code = (body?.error as { code?: string } | undefined)?.code;
  return { status: res.status, body, text, headers: res.headers, code };
}
