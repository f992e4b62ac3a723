import assert from "node:assert/strict";
import { normalizePhone } from "../../core/auth/recipients.ts";
import { startWebhookReceiver } from "../fakes/webhook_receiver.ts";

/*
 * Two real `main.ts` processes on one KV file, driven at once by many clients that hop
 * between them. Whatever the load, no answer may be a 5xx, and the file must hold exactly
 * what the clients were told succeeded: one refresh family per 200 verify, one user per
 * phone that signed in, and a user counter that agrees.
 */

const ROOT = new URL("../../", import.meta.url).pathname;
const WORKERS = 20;
const LOAD_MS = 6_000;
const STOP_WITHIN_MS = 12_000;
const HOOK_SECRET = "two-processes-hook-secret";
/** Both processes sign and check tokens with it (at least 32 bytes). */
const JWT_SECRET = "two-processes-jwt-secret-0123456789abcdef";
/** Phones many workers sign in with at once (users created and signed in concurrently). */
const SHARED_PHONES = 6;

/** One running `main.ts`, with everything it printed so far. */
interface Server {
  name: string;
  url: string;
  child: Deno.ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves once both pipes reached their end. */
  drained: Promise<void>;
}

/** Starts `main.ts` and waits for its "listening" line; rejects if it exits first. */
async function startServer(name: string, env: Record<string, string>): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let listening: (url: string) => void = () => {};
  const port = new Promise<string>((resolve) => listening = resolve);
  // Read both pipes to their end, always, so a chatty server never blocks on a full pipe.
  const pump = async (
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    into: string[],
    watch: boolean,
  ) => {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        into.push(line);
        const match = watch && line.match(/Doorman is listening\s+url=http:\/\/[^\s:]+:(\d+)/);
        if (match) listening(`http://127.0.0.1:${match[1]}`);
      }
    }
    if (partial) into.push(partial);
  };
  const drained = Promise.all([pump(child.stdout, stdout, true), pump(child.stderr, stderr, false)])
    .then(() => {});
  const exited = child.status.then((status) => {
    throw new Error(
      `${name} exited (code ${status.code}) before listening:\n${stderr.join("\n")}`,
    );
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not listen within 30 s`)), 30_000);
  });
  try {
    const url = await Promise.race([port, exited, tooSlow]);
    return { name, url, child, stdout, stderr, drained };
  } catch (error) {
    await stop({ name, url: "", child, stdout, stderr, drained }, "SIGKILL");
    throw error;
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
}

/** Sends `signal` (if still running) and waits for the exit and the end of the output. */
async function stop(
  server: Server,
  signal: Deno.Signal,
): Promise<{ code: number; signal: Deno.Signal | null; ms: number }> {
  const started = performance.now();
  try {
    server.child.kill(signal);
  } catch {
    // Exited already.
  }
  const status = await server.child.status;
  await server.drained;
  return { code: status.code, signal: status.signal, ms: performance.now() - started };
}

/** What a server printed, for failure messages: all of stderr, the tail of stdout. */
function output(server: Server): string {
  return `--- ${server.name} stderr ---\n${server.stderr.slice(-200).join("\n")}\n` +
    `--- ${server.name} stdout (last 40 lines) ---\n${server.stdout.slice(-40).join("\n")}`;
}

/** Server stderr lines counted by level and message, fields left out. */
function warnings(servers: Server[]): string {
  const kinds = new Map<string, number>();
  for (const server of servers) {
    for (const line of server.stderr) {
      const [, level = "", message = line] = line.match(/^([A-Z]+)\s+(.*?)(?:\s{2}|$)/) ?? [];
      const kind = `${server.name} ${level} ${message.slice(0, 80)}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
  }
  return kinds.size === 0 ? "empty" : [...kinds].map(([kind, n]) => `${kind} ×${n}`).join("; ");
}

/** Valid, canonical phones from +1 415 555 xxxx, then +1 646 555 xxxx. */
function* validPhones(): Generator<string> {
  for (const range of ["+1415555", "+1646555"]) {
    for (let i = 100; i < 10_000; i++) {
      const phone = `${range}${String(i).padStart(4, "0")}`;
      if (normalizePhone(phone) === phone) yield phone;
    }
  }
}

/** The `sid` (refresh family) claim of an access token. */
function familyOf(accessToken: string): string {
  const payload = accessToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "="))).sid;
}

interface Answer {
  status: number;
  body: Record<string, unknown> | null;
  text: string;
  retryAfter: string | null;
}

type Endpoint = "request" | "verify" | "refresh" | "heartbeat" | "me";

Deno.test("instances - two processes on one KV file answer no 5xx under mixed load, and commit nothing they reported as failed", async () => {
  const testStarted = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "doorman_two_processes_" });
  const kvPath = `${dir}/kv.sqlite`;
  const sms = startWebhookReceiver({ secret: HOOK_SECRET });
  const servers: Server[] = [];
  let kv: Deno.Kv | null = null;
  try {
    const env = {
      ...Deno.env.toObject(),
      KV_PATH: kvPath,
      PORT: "0",
      APP_ENV: "test",
      JWT_SECRET,
      SMS_PROVIDER: "webhook",
      SMS_WEBHOOK_URL: sms.url,
      SMS_WEBHOOK_SECRET: HOOK_SECRET,
      EMAIL_PROVIDER: "none",
      OTP_RATE_LIMIT_PER_HOUR: "1000",
      OTP_IP_RATE_LIMIT_PER_HOUR: "1000000",
      OTP_RESEND_COOLDOWN_SECONDS: "0",
    };
    servers.push(...await Promise.all([startServer("A", env), startServer("B", env)]));
    const startedMs = performance.now() - testStarted;

    // --- what the clients saw ---
    const tally = new Map<string, number>();
    const serverErrors: string[] = [];
    const badTooMany: string[] = [];
    const transportErrors: string[] = [];
    const oddities: string[] = [];
    let tooMany = 0;
    let requests = 0;
    /** Refresh families and users of every verify that answered 200, by phone. */
    const signedIn = new Map<string, { userIds: Set<string>; families: string[] }>();
    let verifyOk = 0;
    let raceWins = 0;
    let doubleRotations = 0;
    /** Sessions that answered 401 later on, after a refresh race or without one. */
    let endedAfterRace = 0;
    const endedOtherwise: string[] = [];

    const call = async (
      endpoint: Endpoint,
      server: Server,
      init: { method: "GET" | "POST"; path: string; body?: unknown; token?: string },
    ): Promise<Answer | null> => {
      const headers: Record<string, string> = {};
      if (init.body !== undefined) headers["content-type"] = "application/json";
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      requests++;
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${server.url}${init.path}`, {
          method: init.method,
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: AbortSignal.timeout(15_000),
        });
        text = await res.text();
      } catch (error) {
        transportErrors.push(`${endpoint} on ${server.name}: ${error}`);
        return null;
      }
      let body: Record<string, unknown> | null = null;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON; kept as text.
      }
      const code = (body?.error as { code?: string } | undefined)?.code;
      const key = `${endpoint.padEnd(9)} ${res.status}${code ? ` ${code}` : ""}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      const answer = { status: res.status, body, text, retryAfter: res.headers.get("retry-after") };
      if (res.status >= 500) {
        serverErrors.push(`${endpoint} on ${server.name} → ${res.status} ${text}`);
      }
      if (res.status === 429) {
        tooMany++;
        // Each request is verified once, so no code can run out of attempts: load may only
        // answer "busy, try again".
        if (code !== "RATE_LIMITED" || !answer.retryAfter) {
          badTooMany.push(
            `${endpoint} on ${server.name} → 429 retry-after=${answer.retryAfter} ${text}`,
          );
        }
      }
      return answer;
    };

    const phones = validPhones();
    const shared = Array.from({ length: SHARED_PHONES }, () => phones.next().value as string);
    const freshPhone = () => {
      const next = phones.next();
      if (next.done) throw new Error("ran out of test phones");
      return next.value;
    };
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];

    /** One client's sign-in, then a session's worth of refreshes, heartbeats and reads. */
    const journey = async (worker: number, round: number) => {
      const issuer = servers[(worker + round) % 2];
      const verifier = servers[(worker + round + 1) % 2];
      const isShared = Math.random() < 0.25;
      const phone = isShared ? pick(shared) : freshPhone();

      const requested = await call("request", issuer, {
        method: "POST",
        path: "/api/v1/auth/otp/request",
        body: { phone },
      });
      if (requested?.status !== 202) return;
      // With a shared phone this may be another client's code: then the verify is a 400.
      const code = sms.lastCode(phone);
      if (!code) {
        oddities.push(`202 for ${phone} on ${issuer.name} but no SMS reached the receiver`);
        return;
      }
      const verified = await call("verify", verifier, {
        method: "POST",
        path: "/api/v1/auth/otp/verify",
        body: { request_id: requested.body!.request_id, code },
      });
      if (verified?.status !== 200) {
        if (verified && !isShared) {
          oddities.push(`verify of a fresh phone on ${verifier.name} → ${verified.text}`);
        }
        return;
      }
      verifyOk++;
      let pair = verified.body as {
        access_token: string;
        refresh_token: string;
        user: { id: string };
      };
      const family = familyOf(pair.access_token);
      const record = signedIn.get(phone) ?? { userIds: new Set(), families: [] };
      record.userIds.add(pair.user.id);
      record.families.push(family);
      signedIn.set(phone, record);

      // A session that gets 401 has ended; whether a refresh race came before says why.
      let raced = false;
      const steps = 3 + Math.floor(Math.random() * 5);
      for (let step = 0; step < steps; step++) {
        const roll = Math.random();
        let answer: Answer | null;
        if (roll < 0.3) {
          // A client racing itself (two tabs): the same token on both processes at once.
          const racing = Math.random() < 0.2;
          const targets = racing ? servers : [pick(servers)];
          const answers = await Promise.all(targets.map((server) =>
            call("refresh", server, {
              method: "POST",
              path: "/api/v1/auth/refresh",
              body: { refresh_token: pair.refresh_token },
            })
          ));
          const won = answers.filter((a) => a?.status === 200);
          if (racing && won.length === 1) raceWins++;
          if (won.length > 1) doubleRotations++;
          raced ||= racing;
          answer = won[0] ?? answers[0];
          if (won.length > 0) {
            pair = won[0]!.body as typeof pair;
            if (familyOf(pair.access_token) !== family) {
              oddities.push(`refresh moved ${family} to ${familyOf(pair.access_token)}`);
            }
          }
        } else if (roll < 0.8) {
          answer = await call("heartbeat", pick(servers), {
            method: "POST",
            path: "/api/v1/presence/heartbeat",
            token: pair.access_token,
          });
        } else {
          answer = await call("me", pick(servers), {
            method: "GET",
            path: "/api/v1/me",
            token: pair.access_token,
          });
        }
        if (answer?.status === 401) {
          if (raced) endedAfterRace++;
          else endedOtherwise.push(`${family}: ${answer.text}`);
          return;
        }
      }
    };

    const loadStarted = performance.now();
    const deadline = loadStarted + LOAD_MS;
    let journeys = 0;
    await Promise.all(Array.from({ length: WORKERS }, async (_, worker) => {
      for (let round = 0; performance.now() < deadline; round++) {
        journeys++;
        await journey(worker, round);
      }
    }));
    const loadMs = performance.now() - loadStarted;

    // --- stop both the way an orchestrator does ---
    const stopped = await Promise.all(servers.map((server) => stop(server, "SIGTERM")));

    const logs = servers.map(output).join("\n");
    const counts = [...tally.entries()].sort(([a], [b]) => a.localeCompare(b))
      .map(([key, n]) => `  ${key.padEnd(40)} ${n}`).join("\n");
    console.log(
      `${requests} requests in ${(loadMs / 1000).toFixed(1)} s ` +
        `(${(requests / (loadMs / 1000)).toFixed(0)}/s), ${journeys} journeys, ` +
        `${WORKERS} workers, servers up after ${(startedMs / 1000).toFixed(1)} s\n${counts}\n` +
        `  429 answers: ${tooMany}; refresh races won by exactly one: ${raceWins}; ` +
        `sessions ended (401) after a race: ${endedAfterRace}, without one: ` +
        `${endedOtherwise.length}\n` +
        `  server stderr: ${warnings(servers)}\n` +
        stopped.map((s, i) =>
          `  ${servers[i].name} stopped: code ${s.code} signal ${s.signal} in ${s.ms.toFixed(0)} ms`
        ).join("\n"),
    );

    assert.deepEqual(
      transportErrors.slice(0, 5),
      [],
      `${transportErrors.length} requests got no answer\n${logs}`,
    );
    assert.deepEqual(
      serverErrors.slice(0, 5),
      [],
      `${serverErrors.length} answers were 5xx\n${logs}`,
    );
    assert.deepEqual(
      badTooMany.slice(0, 5),
      [],
      `${badTooMany.length} 429 answers were not RATE_LIMITED with Retry-After\n${logs}`,
    );
    assert.equal(doubleRotations, 0, "one refresh token was exchanged twice");
    assert.deepEqual(oddities.slice(0, 5), [], `${oddities.length} odd answers\n${logs}`);
    for (const [i, s] of stopped.entries()) {
      assert.equal(s.code, 0, `${servers[i].name} exited with ${s.code} on SIGTERM\n${logs}`);
      assert.ok(s.ms < STOP_WITHIN_MS, `${servers[i].name} took ${s.ms.toFixed(0)} ms to stop`);
    }

    // --- the file holds exactly what the clients were told ---
    kv = await Deno.openKv(kvPath);
    const families = new Map<string, { userId: string }>();
    for await (
      const entry of kv.list<{ id: string; userId: string }>({ prefix: ["refresh_families"] })
    ) {
      families.set(entry.value.id, entry.value);
    }
    const users = new Map<string, { id: string; phone: string | null }>();
    for await (
      const entry of kv.list<{ id: string; phone: string | null }>({ prefix: ["users"] })
    ) {
      users.set(entry.value.id, entry.value);
    }
    const counter = (await kv.get<Deno.KvU64>(["counters", "users"])).value;

    const toldFamilies = new Set([...signedIn.values()].flatMap((r) => r.families));
    const toldUsers = new Map<string, string>();
    for (const [phone, record] of signedIn) {
      assert.equal(record.userIds.size, 1, `${phone} signed in as ${[...record.userIds]}`);
      toldUsers.set([...record.userIds][0], phone);
    }
    const unreported = [...families.keys()].filter((id) => !toldFamilies.has(id));
    const lost = [...toldFamilies].filter((id) => !families.has(id));
    const grep = (needle: string) =>
      servers.flatMap((s) =>
        [...s.stdout, ...s.stderr].filter((l) => l.includes(needle)).map((l) => `${s.name}: ${l}`)
      ).slice(0, 20).join("\n");
    assert.deepEqual(
      { unreported, lost },
      { unreported: [], lost: [] },
      `refresh families committed but never reported as signed in (or the reverse)\n` +
        unreported.map((id) =>
          `${id} of ${families.get(id)!.userId}:\n` +
          grep(families.get(id)!.userId)
        ).join("\n") + `\n${logs}`,
    );
    assert.equal(families.size, verifyOk, "one refresh family per verify that answered 200");

    const unreportedUsers = [...users.values()].filter((u) => !toldUsers.has(u.id));
    assert.deepEqual(
      unreportedUsers,
      [],
      `users committed although no verify for their phone answered 200\n` +
        unreportedUsers.map((u) => grep(u.id)).join("\n") + `\n${logs}`,
    );
    assert.equal(users.size, signedIn.size, "one user per phone whose verify answered 200");
    for (const [id, phone] of toldUsers) assert.equal(users.get(id)?.phone, phone);
    assert.ok(counter instanceof Deno.KvU64, "the user counter is a KvU64");
    assert.equal(counter.value, BigInt(users.size), "the user counter equals the users");
    console.log(
      `  KV: ${families.size} refresh families = ${verifyOk} verify 200s; ` +
        `${users.size} users = ${signedIn.size} phones signed in = counter ${counter.value}; ` +
        `whole test ${((performance.now() - testStarted) / 1000).toFixed(1)} s`,
    );
  } finally {
    kv?.close();
    await Promise.all(servers.map((server) => stop(server, "SIGKILL")));
    await sms.close();
    await Deno.remove(dir, { recursive: true });
  }
});
