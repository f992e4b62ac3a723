import assert from "node:assert/strict";
import { normalizePhone } from "../../core/auth/recipients.ts";
import { startWebhookReceiver } from "../../fakes/webhook_receiver.ts";
import {
  callJson,
  doormanEnv,
  type DoormanProcess,
  familyOf,
  type JsonAnswer,
  outputOf,
  phonesIn,
  startDoorman,
  stopDoorman,
  UNDER_LOAD,
  warningsOf,
} from "../../bench/doorman_process.ts";
import { kvGuardLines } from "../../fakes/kv_guard.ts";

/*
 * Two real `main.ts` processes on one KV file, driven at once by many clients that hop
 * between them. Whatever the load, no answer may be a 5xx, and the file must hold exactly
 * what the clients were told succeeded: one refresh family per 200 verify, one user per
 * phone that signed in, and a user counter that agrees.
 */

const WORKERS = 20;
const LOAD_MS = 6_000;
const STOP_WITHIN_MS = 12_000;
const HOOK_SECRET = "two-processes-hook-secret";
/** Both processes sign and check tokens with it (at least 32 bytes). */
const JWT_SECRET = "two-processes-jwt-secret-0123456789abcdef";
/** Phones many workers sign in with at once (users created and signed in concurrently). */
const SHARED_PHONES = 6;

/** Valid, canonical phones from +1 415 555 xxxx, then +1 646 555 xxxx. */
function* validPhones(): Generator<string> {
  for (const range of ["+1415555", "+1646555"]) yield* phonesIn(range, normalizePhone);
}

type Answer = JsonAnswer;

type Endpoint = "request" | "verify" | "refresh" | "heartbeat" | "me";

Deno.test("instances - two processes on one KV file answer no 5xx under mixed load, and commit nothing they reported as failed", async () => {
  const testStarted = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "doorman_two_processes_" });
  const kvPath = `${dir}/kv.sqlite`;
  const sms = startWebhookReceiver({ secret: HOOK_SECRET });
  const servers: DoormanProcess[] = [];
  let kv: Deno.Kv | null = null;
  try {
    const env = {
      ...doormanEnv({ kvPath, jwtSecret: JWT_SECRET, smsUrl: sms.url, smsSecret: HOOK_SECRET }),
      ...UNDER_LOAD,
    };
    const started = await Promise.allSettled([startDoorman("A", env), startDoorman("B", env)]);
    for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
    for (const result of started) if (result.status === "rejected") throw result.reason;
    const startedMs = performance.now() - testStarted;

    // --- what the clients saw ---
    const tally = new Map<string, number>();
    const serverErrors: string[] = [];
    const badTooMany: string[] = [];
    const transportErrors: string[] = [];
    const oddities: string[] = [];
    let tooMany = 0;
    const tooManyFirst: string[] = [];
    let requests = 0;
    /** Refresh families and users of every verify that answered 200, by phone. */
    const signedIn = new Map<string, { userIds: Set<string>; families: string[] }>();
    let verifyOk = 0;
    /** Every verify answer by phone, for failure messages. */
    const verifyAnswers = new Map<string, string[]>();
    let raceWins = 0;
    let doubleRotations = 0;
    /** Sessions that answered 401 later on, after a refresh race or without one. */
    let endedAfterRace = 0;
    const endedOtherwise: string[] = [];

    const call = async (
      endpoint: Endpoint,
      server: DoormanProcess,
      init: { method: "GET" | "POST"; path: string; body?: unknown; token?: string },
    ): Promise<Answer | null> => {
      requests++;
      let answer;
      try {
        answer = await callJson(`${server.url}${init.path}`, init);
      } catch (error) {
        transportErrors.push(`${endpoint} on ${server.name}: ${error}`);
        return null;
      }
      const { status, code, text } = answer;
      const key = `${endpoint.padEnd(9)} ${status}${code ? ` ${code}` : ""}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (status >= 500) serverErrors.push(`${endpoint} on ${server.name} → ${status} ${text}`);
      if (status === 429) {
        tooMany++;
        if (tooManyFirst.length < 3) tooManyFirst.push(`${endpoint} on ${server.name} → ${text}`);
        // Each request is verified once, so no code can run out of attempts: load may only
        // answer "busy, try again".
        const retryAfter = answer.headers.get("retry-after");
        if (code !== "RATE_LIMITED" || !retryAfter) {
          badTooMany.push(`${endpoint} on ${server.name} → 429 retry-after=${retryAfter} ${text}`);
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
      verifyAnswers.set(phone, [
        ...verifyAnswers.get(phone) ?? [],
        `${verifier.name} → ${
          !verified
            ? "no answer"
            : verified.status === 200
            ? `200 family ${familyOf(String(verified.body!.access_token))}`
            : `${verified.status} ${verified.text.slice(0, 200)}`
        }`,
      ]);
      if (verified?.status !== 200) {
        // A fresh phone's own code can only be refused as "busy" (allowed) or with a 5xx
        // (counted above); anything else is odd.
        if (verified && !isShared && verified.status !== 429 && verified.status < 500) {
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
    const stopped = await Promise.all(
      servers.map((server) => stopDoorman(server, "SIGTERM", STOP_WITHIN_MS)),
    );

    const logs = servers.map((server) => outputOf(server)).join("\n");
    const counts = [...tally.entries()].sort(([a], [b]) => a.localeCompare(b))
      .map(([key, n]) => `  ${key.padEnd(40)} ${n}`).join("\n");
    console.log(
      `${requests} requests in ${(loadMs / 1000).toFixed(1)} s ` +
        `(${(requests / (loadMs / 1000)).toFixed(0)}/s), ${journeys} journeys, ` +
        `${WORKERS} workers, servers up after ${(startedMs / 1000).toFixed(1)} s\n${counts}\n` +
        `  429 answers: ${tooMany}${tooManyFirst.map((t) => `\n    ${t}`).join("")}\n` +
        `  refresh races won by exactly one: ${raceWins}; ` +
        `sessions ended (401) after a race: ${endedAfterRace}, without one: ` +
        `${endedOtherwise.length}\n` +
        `  server stderr: ${warningsOf(servers)}\n` +
        stopped.map((s, i) =>
          `  ${servers[i].name} stopped: code ${s.code} signal ${s.signal} in ${s.ms.toFixed(0)} ms`
        ).join("\n"),
    );

    // Every check runs, so one failing run shows the whole picture.
    const problems: string[] = [];
    const check = (ok: boolean, problem: () => string) => {
      if (!ok) problems.push(problem());
    };
    const first = (list: string[]) => list.slice(0, 5).map((line) => `    ${line}`).join("\n");
    check(
      transportErrors.length === 0,
      () =>
        `${transportErrors.length} requests got no answer, the first:\n${first(transportErrors)}`,
    );
    check(
      serverErrors.length === 0,
      () => `${serverErrors.length} answers were 5xx, the first:\n${first(serverErrors)}`,
    );
    const refused = kvGuardLines(servers.flatMap((server) => server.stderr));
    check(
      refused.length === 0,
      () => `${refused.length} KV operations would fail on KV Connect:\n${first(refused)}`,
    );
    check(
      badTooMany.length === 0,
      () =>
        `${badTooMany.length} 429 answers were not RATE_LIMITED with Retry-After, the first:\n` +
        first(badTooMany),
    );
    for (const [i, s] of stopped.entries()) {
      check(
        s.code === 0 && s.signal === null,
        () => `${servers[i].name} exited with code ${s.code} (signal ${s.signal}) on SIGTERM`,
      );
      check(
        !s.killed,
        () => `${servers[i].name} was still running ${STOP_WITHIN_MS} ms after SIGTERM: killed`,
      );
    }
    check(doubleRotations === 0, () => `${doubleRotations} refresh tokens were exchanged twice`);
    // README, "For app developers: the client SDK": a rotated token presented again within 10 s
    // gets 401 and revokes nothing, so
    // no session here may end; none is ever logged out.
    check(
      endedAfterRace === 0,
      () => `${endedAfterRace} sessions were ended (401) by the loser of a refresh race`,
    );
    check(
      endedOtherwise.length === 0,
      () =>
        `${endedOtherwise.length} sessions answered 401 with no refresh race before:\n` +
        first(endedOtherwise),
    );
    check(oddities.length === 0, () => `${oddities.length} odd answers:\n${first(oddities)}`);

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
      check(record.userIds.size === 1, () => `${phone} signed in as ${[...record.userIds]}`);
      for (const id of record.userIds) toldUsers.set(id, phone);
    }
    const grep = (needle: string) =>
      servers.flatMap((s) =>
        [...s.stdout, ...s.stderr].filter((l) => l.includes(needle))
          .map((l) => `    ${s.name}: ${l}`)
      ).slice(0, 20).join("\n");
    const answersFor = (phone: string | null) =>
      (verifyAnswers.get(phone ?? "") ?? []).map((a) => `    verify on ${a}`).join("\n");

    const unreported = [...families.keys()].filter((id) => !toldFamilies.has(id));
    check(
      unreported.length === 0,
      () =>
        `${unreported.length} refresh families were committed by a verify that did not answer ` +
        `200, the first:\n` + unreported.slice(0, 5).map((id) => {
          const userId = families.get(id)!.userId;
          const phone = users.get(userId)?.phone ?? null;
          return `  ${id} of ${userId} (${phone}); what the clients saw for ${phone}:\n` +
            `${answersFor(phone)}\n${grep(userId)}`;
        }).join("\n"),
    );
    const lost = [...toldFamilies].filter((id) => !families.has(id));
    check(
      lost.length === 0,
      () => `${lost.length} sign-ins answered 200 but have no refresh family: ${lost.slice(0, 5)}`,
    );
    check(
      families.size === verifyOk,
      () => `${families.size} refresh families, but ${verifyOk} verify answers were 200`,
    );

    const unreportedUsers = [...users.values()].filter((u) => !toldUsers.has(u.id));
    check(
      unreportedUsers.length === 0,
      () =>
        `${unreportedUsers.length} users exist although no verify for them answered 200, ` +
        `the first:\n` + unreportedUsers.slice(0, 5).map((u) =>
          `  ${u.id} (${u.phone}); what the clients saw:\n${answersFor(u.phone)}\n${grep(u.id)}`
        ).join("\n"),
    );
    const lostUsers = [...toldUsers].filter(([id, phone]) => users.get(id)?.phone !== phone);
    check(
      lostUsers.length === 0,
      () =>
        `${lostUsers.length} users signed in (200) are missing or have another phone: ` +
        `${lostUsers.slice(0, 5).map(([id, phone]) => `${id} (${phone})`)}`,
    );
    check(
      users.size === signedIn.size,
      () => `${users.size} users, but ${signedIn.size} phones had a verify answered 200`,
    );
    const counted = counter instanceof Deno.KvU64 ? counter.value : counter;
    check(
      counted === BigInt(users.size),
      () => `the user counter is ${counted}, but there are ${users.size} users`,
    );

    console.log(
      `  KV: ${families.size} refresh families / ${verifyOk} verify 200s; ` +
        `${users.size} users / ${signedIn.size} phones signed in / counter ${counted}; ` +
        `whole test ${((performance.now() - testStarted) / 1000).toFixed(1)} s`,
    );
    assert.equal(problems.length, 0, `${problems.join("\n")}\n${logs}`);
  } finally {
    kv?.close();
    await Promise.all(servers.map((server) => stopDoorman(server, "SIGKILL")));
    await sms.close();
    await Deno.remove(dir, { recursive: true });
  }
});
