import assert from "node:assert/strict";
import { normalizePhone } from "../../core/auth/recipients.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../fakes/webhook_receiver.ts";
import {
  callJson,
  doormanEnv,
  type DoormanProcess,
  type JsonAnswer,
  outputOf,
  phonesIn,
  startDoorman,
  stopDoorman,
} from "../../bench/doorman_process.ts";
import { spreadPhone } from "../helpers.ts";

/*
 * The caps across two real `main.ts` processes on one KV file, each burst sent at once and
 * split between them, every request from its own address (`X-Forwarded-For` behind a trusted
 * proxy) as a botnet sends them. The README's bound: a cap is passed by at most one message
 * per instance, so by at most 2 here.
 */

const HOOK_SECRET = "caps-hook-secret";
const JWT_SECRET = "caps-across-processes-secret-0123456789ab";
const INSTANCES = 2;

interface Pair extends AsyncDisposable {
  servers: DoormanProcess[];
  sms: WebhookReceiver;
}

async function startPair(env: Record<string, string>): Promise<Pair> {
  const dir = await Deno.makeTempDir({ prefix: "doorman_caps_" });
  const sms = startWebhookReceiver({ secret: HOOK_SECRET });
  const full = {
    ...doormanEnv({
      kvPath: `${dir}/kv.sqlite`,
      jwtSecret: JWT_SECRET,
      smsUrl: sms.url,
      smsSecret: HOOK_SECRET,
    }),
    TRUST_PROXY: "true",
    ...env,
  };
  const servers: DoormanProcess[] = [];
  const started = await Promise.allSettled([startDoorman("A", full), startDoorman("B", full)]);
  for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
  const close = async () => {
    await Promise.all(servers.map((server) => stopDoorman(server, "SIGTERM")));
    await sms.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  for (const result of started) {
    if (result.status === "rejected") {
      await close();
      throw result.reason;
    }
  }
  return { servers, sms, [Symbol.asyncDispose]: close };
}

function clientIp(i: number): string {
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** Sends every body at once, alternating between the two processes. */
function burst(
  pair: Pair,
  path: string,
  bodies: Record<string, unknown>[],
  ip: (i: number) => string = clientIp,
): Promise<JsonAnswer[]> {
  return Promise.all(bodies.map((body, i) =>
    callJson(`${pair.servers[i % INSTANCES].url}${path}`, {
      method: "POST",
      body,
      headers: { "x-forwarded-for": ip(i) },
    })
  ));
}

function count(answers: JsonAnswer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const key = a.status < 400 ? String(a.status) : `${a.status} ${a.code}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

function noServerErrors(pair: Pair, answers: JsonAnswer[]): void {
  const bad = answers.filter((a) => a.status >= 500 && a.code !== "CHANNEL_UNAVAILABLE");
  assert.equal(
    bad.length,
    0,
    `5xx: ${bad.map((a) => a.text).join("\n")}\n` +
      pair.servers.map((s) => outputOf(s)).join("\n"),
  );
}

const range1415 = () => [...phonesIn("+1415555", normalizePhone)];

Deno.test("caps across two processes - 100 at once to one range with the defaults: 10 out, at most 2 more", async () => {
  await using pair = await startPair({});
  const phones = range1415().slice(0, 100);
  const answers = await burst(
    pair,
    "/api/v1/auth/otp/request",
    phones.map((phone) => ({ phone, channel: "sms" })),
  );
  noServerErrors(pair, answers);
  const sent = pair.sms.messages.length;
  const counts = count(answers);
  assert.ok(sent >= 10 && sent <= 10 + INSTANCES, `${sent} SMS: ${JSON.stringify(counts)}`);
  assert.equal(counts["202"], sent, "every 202 is an SMS that went out, and only those");
  assert.equal(counts["403 RECIPIENT_NOT_ALLOWED"], 100 - sent);
});

Deno.test("caps across two processes - 20 wrong codes at once from one IP with a cap of 3: at most 5 evaluated", async () => {
  await using pair = await startPair({ OTP_VERIFY_FAILURES_PER_IP_PER_HOUR: "3" });
  const phones = [...phonesIn("+1646555", normalizePhone)].slice(0, 5);
  const requests: { id: string; code: string }[] = [];
  for (const [i, phone] of phones.entries()) {
    const [answer] = await burst(pair, "/api/v1/auth/otp/request", [{ phone }], () => clientIp(i));
    assert.equal(answer.status, 202, answer.text);
    const code = pair.sms.lastCode(phone);
    assert.ok(code);
    requests.push({ id: String(answer.body!.request_id), code });
  }
  const answers = await burst(
    pair,
    "/api/v1/auth/otp/verify",
    Array.from({ length: 20 }, (_, i) => {
      const { id, code } = requests[i % requests.length];
      return { request_id: id, code: code === "000000" ? "111111" : "000000" };
    }),
    () => "203.0.113.50",
  );
  noServerErrors(pair, answers);
  const counts = count(answers);
  const evaluated = counts["400 INVALID_CODE"] ?? 0;
  assert.ok(evaluated >= 3 && evaluated <= 3 + INSTANCES, JSON.stringify(counts));
  assert.equal(counts["429 RATE_LIMITED"], 20 - evaluated);
});

Deno.test("caps across two processes - the range cap of 30 and SMS_DAILY_LIMIT=50 with bursts at once: at most 2 past each", async () => {
  await using pair = await startPair({ SMS_PREFIX_AUTOBLOCK: "false", SMS_DAILY_LIMIT: "50" });
  const inRange = await burst(
    pair,
    "/api/v1/auth/otp/request",
    range1415().slice(0, 100).map((phone) => ({ phone, channel: "sms" })),
  );
  noServerErrors(pair, inRange);
  const toRange = pair.sms.messages.length;
  assert.ok(
    toRange >= 30 && toRange <= 30 + INSTANCES,
    `${toRange}: ${JSON.stringify(count(inRange))}`,
  );
  assert.equal(count(inRange)["202"], toRange);

  // 400 more over 30 other ranges: the day's budget ends them.
  const spread = await burst(
    pair,
    "/api/v1/auth/otp/request",
    Array.from({ length: 400 }, (_, i) => ({ phone: spreadPhone(i), channel: "sms" })),
    (i) => clientIp(1_000 + i),
  );
  noServerErrors(pair, spread);
  const total = pair.sms.messages.length;
  const counts = count(spread);
  assert.ok(
    total >= 50 && total <= 50 + INSTANCES,
    `${total} SMS today: ${JSON.stringify(counts)}`,
  );
  assert.equal(counts["202"], total - toRange);
  assert.equal(counts["503 CHANNEL_UNAVAILABLE"], 400 - (total - toRange));
});
