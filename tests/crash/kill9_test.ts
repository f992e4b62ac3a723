import assert from "node:assert/strict";
import { normalizePhone } from "../../core/auth/recipients.ts";
import { listRecentEvents } from "../../kv/events.ts";
import { keys } from "../../kv/keys.ts";
import { contactUpdate, type FakeMessage, startFakeTelegram } from "../../fakes/telegram.ts";
import { startWebhookReceiver } from "../../fakes/webhook_receiver.ts";
import { kvGuardLines } from "../../fakes/kv_guard.ts";
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

/*
 * SLOW (up to ~75 s): it waits for the restarted process's per-minute cron. Run it alone with
 *
 *   deno test -A tests/crash/kill9_test.ts
 *   deno task test --filter "kill -9"
 *
 * One real `main.ts` (SMS by webhook to a fake receiver, Telegram through the fake Bot API in
 * this process) under mixed load — sign-ins by SMS and Telegram, wrong codes, heartbeats,
 * refreshes, reads — is killed with SIGKILL mid-load, then started again on the same KV file.
 * Every 2xx answer the clients got must still be true afterwards; every code message whose
 * delete job was recorded must be deleted (by the restarted process's cron sweep: nothing
 * else runs due deletes after a restart); and the presence log must be exact: per user,
 * online and offline alternate, and the online counter equals the users recorded online.
 */

const HOOK_SECRET = "kill9-hook-secret";
/** At least 32 bytes; both lives of the server sign and check tokens with it. */
const JWT_SECRET = "kill9-jwt-secret-0123456789abcdef-0123456789";
const PRESENCE_TIMEOUT_S = 5;
const AUTODELETE_S = 5;
const WORKERS = 16;
/** Workers that sign in through Telegram, each with its own linked chat. */
const TELEGRAM_WORKERS = 4;
const LOAD_MS = 2_500;
const MINUTE_MS = 60_000;
/** How long after the cron minute that must do the work it may take (KV, Bot API calls). */
const SWEEP_GRACE_MS = 10_000;

/** One sign-in (refresh family) a verify answered 200 for, as the client knows it. */
interface Session {
  userId: string;
  familyId: string;
  phone: string;
  /** The newest refresh token and access token a 200 handed out. */
  refreshToken: string;
  accessToken: string;
  refreshes: number;
  /** A refresh got no answer (the kill): the newest token may have been rotated or not. */
  refreshUnanswered: boolean;
}

type Answer = JsonAnswer;

type Endpoint = "request" | "verify" | "wrong code" | "refresh" | "heartbeat" | "me";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isCodeMessage(message: FakeMessage): boolean {
  return /<code>\d+<\/code>/.test(message.text);
}

function messageKey(chatId: number | string, messageId: number): string {
  return `${chatId}:${messageId}`;
}

Deno.test("crash - kill -9 under mixed load: after a restart every 2xx holds, due Telegram deletes run, presence transitions are exact (SLOW, ~75 s)", async () => {
  const testStarted = Date.now();
  const dir = await Deno.makeTempDir({ prefix: "doorman_kill9_" });
  const kvPath = `${dir}/kv.sqlite`;
  const sms = startWebhookReceiver({ secret: HOOK_SECRET });
  const tg = startFakeTelegram({ token: "123456:KILL9" });
  const servers: DoormanProcess[] = [];
  let kv: Deno.Kv | null = null;
  try {
    const env = {
      ...doormanEnv({ kvPath, jwtSecret: JWT_SECRET, smsUrl: sms.url, smsSecret: HOOK_SECRET }),
      ...UNDER_LOAD,
      // No https PUBLIC_URL: the bot long-polls the fake for updates.
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      // Some workers send wrong codes on purpose: the per-IP cap on wrong codes is tested in
      // tests/routes/abuse_test.ts, not by the crash.
      OTP_VERIFY_FAILURES_PER_IP_PER_HOUR: "1000000",
      PRESENCE_TIMEOUT_SECONDS: String(PRESENCE_TIMEOUT_S),
      HEARTBEAT_INTERVAL_SECONDS: "1",
      TELEGRAM_AUTODELETE_SECONDS: String(AUTODELETE_S),
    };
    const a = await startDoorman("A", env);
    servers.push(a);

    // --- link one chat per Telegram worker: the person shares their own contact ---
    const people = Array.from({ length: TELEGRAM_WORKERS }, (_, i) => ({
      id: 5_000_000_101 + i,
      phone: "",
    }));
    const telegramPhones = phonesIn("+1646555", normalizePhone);
    for (const person of people) {
      person.phone = telegramPhones.next().value as string;
      tg.pushUpdate(contactUpdate({
        from: { id: person.id, first_name: "Kay" },
        contact: { phone_number: person.phone.slice(1), user_id: person.id },
      }));
    }
    const linked = () =>
      people.every((p) => tg.messages.some((m) => m.chat_id === p.id && /^Linked/.test(m.text)));
    for (const deadline = Date.now() + 15_000; !linked();) {
      if (Date.now() > deadline) {
        throw new Error(`the bot did not link every chat in 15 s\n${outputOf(a)}`);
      }
      await sleep(20);
    }

    // --- mixed load, then SIGKILL in the middle of it ---
    const tally = new Map<string, number>();
    const serverErrors: string[] = [];
    const oddities: string[] = [];
    /** Requests that got no answer before the kill: the server should never drop one. */
    const lostBeforeKill: string[] = [];
    const unanswered = new Map<Endpoint, number>();
    let killedAt: number | null = null;
    let requests = 0;
    const sessions = new Map<string, Session>();
    /** The newest `last_seen` a 200 heartbeat answered, per user. */
    const beats = new Map<string, number>();
    let heartbeatsOk = 0;
    /** Code messages of Telegram requests answered 202: their delete job is recorded. */
    const acknowledged = new Set<string>();

    const call = async (
      endpoint: Endpoint,
      init: { method: "GET" | "POST"; path: string; body?: unknown; token?: string },
    ): Promise<Answer | null> => {
      if (killedAt !== null) return null;
      requests++;
      let answer;
      try {
        answer = await callJson(`${a.url}${init.path}`, init);
      } catch (error) {
        if (killedAt === null) lostBeforeKill.push(`${endpoint}: ${error}`);
        else unanswered.set(endpoint, (unanswered.get(endpoint) ?? 0) + 1);
        return null;
      }
      const { status, code, text } = answer;
      const key = `${endpoint.padEnd(10)} ${status}${code ? ` ${code}` : ""}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (status >= 500) serverErrors.push(`${endpoint} → ${status} ${text}`);
      return answer;
    };

    const smsPhones = phonesIn("+1415555", normalizePhone);
    const freshPhone = () => {
      const next = smsPhones.next();
      if (next.done) throw new Error("ran out of test phones");
      return next.value;
    };

    const journey = async (worker: number) => {
      const person = worker < TELEGRAM_WORKERS ? people[worker] : null;
      const phone = person ? person.phone : freshPhone();
      const codeMessages = () =>
        tg.messages.filter((m) => m.chat_id === person?.id && isCodeMessage(m));
      const before = person ? codeMessages().length : 0;
      const requested = await call("request", {
        method: "POST",
        path: "/api/v1/auth/otp/request",
        body: person ? { phone, channel: "telegram" } : { phone },
      });
      if (!requested) return;
      if (requested.status !== 202) {
        oddities.push(`request for ${phone} → ${requested.status} ${requested.text}`);
        return;
      }
      const requestId = String(requested.body!.request_id);
      let code: string | undefined;
      if (person) {
        // The code went to the linked chat before the answer: one new message, its job saved.
        const sent = codeMessages();
        if (sent.length !== before + 1) {
          oddities.push(`202 for Telegram ${phone}, but ${sent.length - before} code messages`);
          return;
        }
        const message = sent.at(-1)!;
        acknowledged.add(messageKey(message.chat_id, message.message_id));
        code = message.text.match(/<code>(\d+)<\/code>/)?.[1];
        // Some codes are never used: their messages are left to delete themselves.
        if (Math.random() < 0.4) return;
      } else {
        code = sms.lastCode(phone);
      }
      if (!code) {
        oddities.push(`202 for ${phone} but no code arrived`);
        return;
      }
      if (Math.random() < 0.15) {
        const wrong = await call("wrong code", {
          method: "POST",
          path: "/api/v1/auth/otp/verify",
          body: { request_id: requestId, code: code === "000000" ? "111111" : "000000" },
        });
        if (!wrong) return;
        if (wrong.status !== 400) oddities.push(`a wrong code → ${wrong.status} ${wrong.text}`);
      }
      const verified = await call("verify", {
        method: "POST",
        path: "/api/v1/auth/otp/verify",
        body: { request_id: requestId, code },
      });
      if (!verified) return;
      if (verified.status !== 200) {
        oddities.push(`verify for ${phone} → ${verified.status} ${verified.text}`);
        return;
      }
      const pair = verified.body as {
        access_token: string;
        refresh_token: string;
        user: { id: string };
      };
      const session: Session = {
        userId: pair.user.id,
        familyId: familyOf(pair.access_token),
        phone,
        refreshToken: pair.refresh_token,
        accessToken: pair.access_token,
        refreshes: 0,
        refreshUnanswered: false,
      };
      sessions.set(session.familyId, session);

      const steps = 4 + Math.floor(Math.random() * 7);
      for (let step = 0; step < steps && killedAt === null; step++) {
        const roll = Math.random();
        if (roll < 0.3) {
          const answer = await call("refresh", {
            method: "POST",
            path: "/api/v1/auth/refresh",
            body: { refresh_token: session.refreshToken },
          });
          if (!answer) {
            session.refreshUnanswered = true;
            return;
          }
          if (answer.status !== 200) {
            oddities.push(`refresh of ${session.familyId} → ${answer.status} ${answer.text}`);
            return;
          }
          const next = answer.body as { access_token: string; refresh_token: string };
          if (familyOf(next.access_token) !== session.familyId) {
            oddities.push(`refresh moved ${session.familyId} to ${familyOf(next.access_token)}`);
          }
          session.refreshToken = next.refresh_token;
          session.accessToken = next.access_token;
          session.refreshes++;
        } else if (roll < 0.85) {
          const answer = await call("heartbeat", {
            method: "POST",
            path: "/api/v1/presence/heartbeat",
            token: session.accessToken,
          });
          if (!answer) return;
          if (answer.status !== 200 || answer.body?.status !== "online") {
            oddities.push(`heartbeat of ${session.userId} → ${answer.status} ${answer.text}`);
            return;
          }
          heartbeatsOk++;
          const lastSeen = Date.parse(String(answer.body.last_seen));
          beats.set(session.userId, Math.max(beats.get(session.userId) ?? 0, lastSeen));
        } else {
          const answer = await call("me", {
            method: "GET",
            path: "/api/v1/me",
            token: session.accessToken,
          });
          if (!answer) return;
          if (answer.status !== 200) {
            oddities.push(`me of ${session.userId} → ${answer.status} ${answer.text}`);
          }
        }
      }
    };

    const loadStarted = Date.now();
    const workers = Array.from({ length: WORKERS }, async (_, worker) => {
      while (killedAt === null) await journey(worker);
    });
    await sleep(LOAD_MS);
    killedAt = Date.now();
    a.child.kill("SIGKILL");
    const died = await a.child.status;
    await a.drained;
    await Promise.all(workers);
    const loadMs = killedAt - loadStarted;

    // --- what the dead process left: every code message sent is deleted or has its job ---
    kv = await Deno.openKv(kvPath);
    const jobs = new Set<string>();
    for await (
      const entry of kv.list<{ chatId: string; messageId: number }>({
        prefix: keys.telegramDeletes(),
      })
    ) {
      jobs.add(messageKey(entry.value.chatId, entry.value.messageId));
    }
    const codeMessages = tg.messages.filter(isCodeMessage);
    const deletedBeforeKill = codeMessages.filter((m) => m.deleted_at !== null);
    const pending = codeMessages.filter((m) => m.deleted_at === null);
    const withJob = pending.filter((m) => jobs.has(messageKey(m.chat_id, m.message_id)));
    const withoutJob = pending.filter((m) => !jobs.has(messageKey(m.chat_id, m.message_id)));
    /** Sent, a 202 told the client so, and yet nothing will ever delete it: a bug. */
    const orphaned = withoutJob.filter((m) =>
      acknowledged.has(messageKey(m.chat_id, m.message_id))
    );
    /**
     * Sent while the kill struck its request: the server died before it could record the
     * message (the Bot API had sent it; its id never came back, or its job was not yet
     * committed). Nothing can delete a message whose id the server never kept.
     */
    const inFlight = withoutJob.filter((m) =>
      !acknowledged.has(messageKey(m.chat_id, m.message_id))
    );

    // --- start it again on the same file ---
    const b = await startDoorman("B", env);
    servers.push(b);
    const restartMs = b.listeningAt - killedAt;

    const problems: string[] = [];
    const check = (ok: boolean, problem: () => string) => {
      if (!ok) problems.push(problem());
    };
    const first = (list: string[]) => list.slice(0, 5).map((line) => `    ${line}`).join("\n");
    check(died.signal === "SIGKILL", () => `A ended with ${died.code}/${died.signal}, not SIGKILL`);
    check(
      lostBeforeKill.length === 0,
      () =>
        `${lostBeforeKill.length} requests got no answer before the kill:\n${
          first(lostBeforeKill)
        }`,
    );
    check(
      serverErrors.length === 0,
      () => `${serverErrors.length} answers were 5xx:\n${first(serverErrors)}`,
    );
    check(oddities.length === 0, () => `${oddities.length} odd answers:\n${first(oddities)}`);
    check(sessions.size > 0, () => "no sign-in succeeded before the kill: the load did nothing");

    // Each verify 200: the user and the sign-in exist, not revoked.
    for (const s of sessions.values()) {
      const [user, family] = await kv.getMany<[{ id: string; phone: string }, {
        userId: string;
        revokedAt: number | null;
      }]>([keys.user(s.userId), keys.session(s.familyId)]);
      check(
        user.value?.phone === s.phone,
        () => `verify 200 for ${s.phone} as ${s.userId}: the user is ${JSON.stringify(user.value)}`,
      );
      check(
        family.value?.userId === s.userId && family.value.revokedAt === null,
        () => `verify 200 opened ${s.familyId}: the family is ${JSON.stringify(family.value)}`,
      );
    }

    // Each family's newest token works on the restarted process (one refresh per family).
    const refreshAfter = new Map<string, string>();
    const access: { any: string | null } = { any: null };
    let uncertainRotated = 0;
    const families = [...sessions.values()];
    for (let i = 0; i < families.length; i += 8) {
      await Promise.all(
        families.slice(i, i + 8).map(async (s) => {
          const res = await fetch(`${b.url}/api/v1/auth/refresh`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ refresh_token: s.refreshToken }),
          });
          const text = await res.text();
          refreshAfter.set(s.familyId, `${res.status}`);
          if (res.status === 200) {
            const body = JSON.parse(text);
            access.any ??= body.access_token;
            const me = await fetch(`${b.url}/api/v1/me`, {
              headers: { authorization: `Bearer ${body.access_token}` },
            });
            const meText = await me.text();
            check(
              me.status === 200 && JSON.parse(meText).user?.id === s.userId,
              () => `the new pair of ${s.familyId} → /me ${me.status} ${meText}`,
            );
          } else if (s.refreshUnanswered && res.status === 401) {
            // Its last refresh was cut off by the kill after committing: that token was rotated.
            uncertainRotated++;
          } else {
            problems.push(
              `${s.familyId} (${s.refreshes} refreshes answered 200` +
                `${s.refreshUnanswered ? ", one unanswered" : ""}): its newest token → ` +
                `${res.status} ${text}`,
            );
          }
        }),
      );
    }

    // Each heartbeat 200: the stored last activity is at least what was answered.
    for (const [userId, lastSeen] of beats) {
      const seen = (await kv.get<Deno.KvU64>(keys.presenceSeen(userId))).value;
      check(
        seen !== null && Number(seen.value) >= lastSeen,
        () =>
          `heartbeat of ${userId} answered last_seen ${new Date(lastSeen).toISOString()}, ` +
          `stored ${seen === null ? "nothing" : new Date(Number(seen.value)).toISOString()}`,
      );
    }

    // Derived status: once everyone's timeout ran out, all read offline, last_seen kept.
    const userIds = [...new Set(families.map((s) => s.userId))];
    const lastActivity = Math.max(killedAt, ...beats.values());
    await sleep(Math.max(0, lastActivity + PRESENCE_TIMEOUT_S * 1000 + 200 - Date.now()));
    let derivedOnline: string[] = [];
    if (access.any) {
      for (let i = 0; i < userIds.length; i += 100) {
        const ids = userIds.slice(i, i + 100);
        const res = await fetch(`${b.url}/api/v1/presence?user_ids=${ids.join(",")}`, {
          headers: { authorization: `Bearer ${access.any}` },
        });
        const body = await res.json();
        check(res.status === 200, () => `presence query → ${res.status} ${JSON.stringify(body)}`);
        const views = (body.users ?? []) as {
          user_id: string;
          status: string;
          last_seen: string | null;
        }[];
        derivedOnline = derivedOnline.concat(
          views.filter((v) => v.status !== "offline").map((v) => v.user_id),
        );
        for (const v of views) {
          const answered = beats.get(v.user_id);
          check(
            answered === undefined ||
              (v.last_seen !== null && Date.parse(v.last_seen) >= answered),
            () => `presence of ${v.user_id}: last_seen ${v.last_seen}, a heartbeat answered later`,
          );
        }
      }
    }
    check(
      derivedOnline.length === 0,
      () => `${derivedOnline.length} users still read online after their timeout`,
    );

    // --- wait for the restarted process's cron minute: due deletes, presence sweep ---
    // Delete jobs fall due by killedAt + AUTODELETE_S; silence runs out by lastActivity +
    // timeout, filed under its minute rounded up. Nothing else runs them after a restart.
    const dueBy = Math.max(
      killedAt + AUTODELETE_S * 1000,
      lastActivity + PRESENCE_TIMEOUT_S * 1000,
    );
    const sweepMinute = Math.ceil(Math.max(dueBy, b.listeningAt) / MINUTE_MS) * MINUTE_MS;
    const giveUpAt = sweepMinute + SWEEP_GRACE_MS;
    const onlineCount = async () => {
      const counter = (await kv!.get<Deno.KvU64>(keys.onlineCount())).value;
      return counter === null ? 0n : counter.value;
    };
    const listed = async (prefix: Deno.KvKey) => {
      let n = 0;
      for await (const _ of kv!.list({ prefix })) n++;
      return n;
    };
    let deletesDoneAt: number | null = null;
    let sweptAt: number | null = null;
    while (Date.now() < giveUpAt && (deletesDoneAt === null || sweptAt === null)) {
      if (deletesDoneAt === null && withJob.every((m) => m.deleted_at !== null)) {
        deletesDoneAt = Date.now();
      }
      if (
        sweptAt === null && await listed(keys.presenceOnlineAll()) === 0 &&
        await onlineCount() === 0n
      ) {
        sweptAt = Date.now();
      }
      await sleep(250);
    }
    const notDeleted = withJob.filter((m) => m.deleted_at === null);
    const deleteCalls = tg.calls.filter((c) =>
      (c.method === "deleteMessages" || c.method === "deleteMessage") && c.at >= b.listeningAt
    );
    check(
      notDeleted.length === 0,
      () =>
        `${notDeleted.length} of ${withJob.length} code messages with a delete job were not ` +
        `deleted by ${new Date(giveUpAt).toISOString()} (the cron minute after they fell due ` +
        `was ${new Date(sweepMinute).toISOString()}; delete calls since the restart: ` +
        `${deleteCalls.length}): ${
          notDeleted.slice(0, 5).map((m) => `${m.chat_id}:${m.message_id}`)
        }`,
    );
    check(
      orphaned.length === 0,
      () =>
        `${orphaned.length} code messages of requests answered 202 have no delete job and ` +
        `were never deleted: ${orphaned.slice(0, 5).map((m) => `${m.chat_id}:${m.message_id}`)}`,
    );

    // --- the presence log: per user, online and offline alternate; the counter agrees ---
    const perUser = new Map<string, string[]>();
    for (const event of await listRecentEvents(kv, Number.MAX_SAFE_INTEGER)) {
      const { type, user_id } = event.data;
      if (!type.startsWith("presence.") || typeof user_id !== "string") continue;
      perUser.set(user_id, [type.slice("presence.".length), ...perUser.get(user_id) ?? []]);
    }
    for (const userId of userIds) {
      check(perUser.has(userId), () => `${userId} signed in (200) but has no presence event`);
    }
    let transitions = 0;
    for (const [userId, types] of perUser) {
      transitions += types.length;
      const doubled = types.findIndex((type, i) => i > 0 && type === types[i - 1]);
      check(
        types[0] === "online" && doubled === -1,
        () => `${userId}'s presence events do not alternate: ${types.join(", ")}`,
      );
      check(
        sweptAt === null || types.at(-1) === "offline",
        () => `${userId} ends ${types.at(-1)} after the sweep: ${types.join(", ")}`,
      );
    }
    let recordedOnline = 0;
    for await (
      const entry of kv.list<{ online: boolean }>({ prefix: ["presence_state"] })
    ) {
      if (entry.value.online) recordedOnline++;
    }
    const counter = await onlineCount();
    const indexed = await listed(keys.presenceOnlineAll());
    check(
      counter === BigInt(recordedOnline) && indexed === recordedOnline,
      () =>
        `online counter ${counter}, presence_online index ${indexed}, but ${recordedOnline} ` +
        `users are recorded online in presence_state`,
    );
    check(
      sweptAt !== null,
      () =>
        `users still recorded online at ${new Date(giveUpAt).toISOString()}: counter ` +
        `${counter}, index ${indexed} (the cron minute after their silence ran out was ` +
        `${new Date(sweepMinute).toISOString()})`,
    );

    const stoppedB = await stopDoorman(b, "SIGTERM");
    check(
      stoppedB.code === 0 && !stoppedB.killed,
      () => `B exited with ${stoppedB.code}/${stoppedB.signal} on SIGTERM`,
    );
    // A fresh clone has no islands bundle until a build runs; this test calls only the API.
    const unexpected = b.stderr.filter((line) =>
      (/^(ERROR|error)/.test(line) && !/islands bundle is missing/.test(line)) ||
      /Uncaught|panicked/.test(line)
    );
    check(
      unexpected.length === 0,
      () => `B logged ${unexpected.length} errors:\n${first(unexpected)}`,
    );
    const refused = kvGuardLines(servers.flatMap((server) => server.stderr));
    check(
      refused.length === 0,
      () => `${refused.length} KV operations would fail on KV Connect:\n${first(refused)}`,
    );

    const counts = [...tally.entries()].sort(([x], [y]) => x.localeCompare(y))
      .map(([key, n]) => `  ${key.padEnd(32)} ${n}`).join("\n");
    const since = (at: number | null) =>
      at === null ? "never" : `${((at - killedAt!) / 1000).toFixed(1)} s after the kill`;
    console.log(
      `${requests} requests in ${(loadMs / 1000).toFixed(1)} s before SIGKILL, ${WORKERS} ` +
        `workers (${TELEGRAM_WORKERS} by Telegram)\n${counts}\n` +
        `  cut off by the kill: ${
          [...unanswered].map(([endpoint, n]) => `${endpoint} ${n}`).join(", ") || "none"
        }\n` +
        `  after the restart (B up ${(restartMs / 1000).toFixed(1)} s after the kill): ` +
        `${sessions.size} sign-ins checked, ${families.length - uncertainRotated} newest ` +
        `tokens refreshed (${uncertainRotated} rotated by a refresh the kill cut off), ` +
        `${beats.size} users' heartbeats (${heartbeatsOk} answered 200) checked\n` +
        `  Telegram code messages: ${codeMessages.length} sent, ${deletedBeforeKill.length} ` +
        `deleted before the kill, ${withJob.length} left with a delete job (done: ` +
        `${since(deletesDoneAt)}), ${inFlight.length} sent while the kill cut off their ` +
        `request (never recorded; ${inFlight.filter((m) => m.deleted_at !== null).length} ` +
        `deleted anyway), ${orphaned.length} acknowledged without a job\n` +
        `  presence: ${transitions} transitions of ${perUser.size} users; everyone offline ` +
        `${since(sweptAt)} (cron minute ${new Date(sweepMinute).toISOString().slice(11, 19)})\n` +
        `  server stderr: ${warningsOf(servers)}\n` +
        `  whole test ${((Date.now() - testStarted) / 1000).toFixed(1)} s`,
    );
    assert.equal(
      problems.length,
      0,
      `${problems.join("\n")}\n${servers.map((s) => outputOf(s)).join("\n")}`,
    );
  } finally {
    kv?.close();
    await Promise.all(servers.map((server) => stopDoorman(server, "SIGKILL")));
    await sms.close();
    await tg.close();
    await Deno.remove(dir, { recursive: true });
  }
});
