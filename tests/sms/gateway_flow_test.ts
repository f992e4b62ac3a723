import assert from "node:assert/strict";
import { signGatewayReport } from "../../core/delivery/telegram_gateway_report.ts";
import { type FakeGateway, startFakeGateway } from "../fakes/telegram_gateway.ts";
import { errorOf, type Harness, serveHarness, startHarness, waitFor } from "../helpers.ts";
import {
  ADMIN_EMAIL,
  deliveries,
  type DeliveryJson,
  eventsOf,
  recordLiveEvents,
  requestOtp,
  signInByEmail,
} from "./helpers.ts";

const ON_TELEGRAM = "+14155552671";
const OFF_TELEGRAM = "+12125550100";
const PUBLIC_URL = "https://doorman.example.com";

async function gatewayHarness(
  options: { env?: Record<string, string> } = {},
): Promise<{ h: Harness; fake: FakeGateway } & AsyncDisposable> {
  const fake = startFakeGateway({ phonesOnTelegram: [ON_TELEGRAM] });
  const h = await startHarness({
    env: {
      TELEGRAM_GATEWAY_TOKEN: fake.token,
      TELEGRAM_GATEWAY_API_ROOT: fake.apiRoot,
      ADMIN_EMAILS: ADMIN_EMAIL,
      ...options.env,
    },
  });
  return {
    h,
    fake,
    async [Symbol.asyncDispose]() {
      await h[Symbol.asyncDispose]();
      await fake.close();
    },
  };
}

/** The log entries of one request, oldest try first. */
async function triesOf(h: Harness, token: string, requestId: string): Promise<DeliveryJson[]> {
  const { deliveries: all } = await deliveries(h, token);
  return all.filter((d) => d.request_id === requestId).reverse();
}

Deno.test("Telegram Gateway - auto sends our code to a phone on Telegram; the code verifies and the Gateway is told", async () => {
  await using g = await gatewayHarness();
  const { h, fake } = g;
  const res = await requestOtp(h, { phone: ON_TELEGRAM, channel: "auto" });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.channel, "telegram");
  assert.equal(body.deep_link, undefined);
  assert.equal(h.sms.messages.length, 0);

  assert.deepEqual(fake.calls.map((c) => c.method), [
    "checkSendAbility",
    "sendVerificationMessage",
  ]);
  assert.equal(fake.calls[0].params.phone_number, ON_TELEGRAM);
  const [message] = fake.messages;
  assert.equal(message.phone, ON_TELEGRAM);
  assert.match(message.code, /^\d{6}$/);
  assert.equal(message.ttl, 300);
  assert.equal(message.payload, body.request_id);
  assert.equal(message.checked, true, "sent under the checked request id: free");
  assert.equal(message.callbackUrl, undefined, "no callback URL over http");

  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id: body.request_id,
    code: message.code,
  });
  assert.equal(verified.status, 200);
  assert.equal((await verified.json()).user.phone, ON_TELEGRAM);
  // Told in the background: wait for it.
  await waitFor(() => fake.calls.some((c) => c.method === "checkVerificationStatus"));
  const told = fake.calls.find((c) => c.method === "checkVerificationStatus")!;
  assert.deepEqual(told.params, { request_id: message.requestId, code: message.code });
  assert.equal(fake.statusOf(message.requestId)?.verification_status?.status, "code_valid");

  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const tries = await triesOf(h, admin.token, body.request_id);
  assert.deepEqual(
    tries.map((d) => [d.channel, d.provider, d.status, d.provider_id, d.country, d.to]),
    [["telegram", "telegram_gateway", "sent", message.requestId, "US", "+1415•••2671"]],
  );
  // Telegram is not charged against the SMS budget.
  const fraud = await (await h.get("/api/v1/admin/fraud", { token: admin.token })).json();
  assert.equal(fraud.sms_today, 0);
});

Deno.test("Telegram Gateway - a phone not on Telegram falls back to SMS; both tries are logged", async () => {
  await using g = await gatewayHarness();
  const { h, fake } = g;
  const res = await requestOtp(h, { phone: OFF_TELEGRAM });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.channel, "sms");
  assert.deepEqual(fake.calls.map((c) => c.method), ["checkSendAbility"]);
  assert.equal(fake.messages.length, 0);
  const code = h.sms.lastCode(OFF_TELEGRAM);
  assert.ok(code);

  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const tries = await triesOf(h, admin.token, body.request_id);
  assert.deepEqual(
    tries.map((d) => [d.channel, d.provider, d.status, d.country, d.to]),
    [
      ["telegram", "telegram_gateway", "refused", "US", "+1212•••0100"],
      ["sms", "webhook", "sent", "US", "+1212•••0100"],
    ],
  );
  assert.match(tries[0].error ?? "", /cannot reach this number/);
  const fraud = await (await h.get("/api/v1/admin/fraud", { token: admin.token })).json();
  assert.equal(fraud.sms_today, 1);

  const verified = await h.post("/api/v1/auth/otp/verify", { request_id: body.request_id, code });
  assert.equal(verified.status, 200);
  await verified.body?.cancel();
  // Not delivered by the Gateway: it is not told.
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(!fake.calls.some((c) => c.method === "checkVerificationStatus"));
});

Deno.test("Telegram Gateway - a failing Gateway falls back to SMS", async () => {
  await using g = await gatewayHarness();
  const { h, fake } = g;
  fake.mode = { kind: "failing", status: 502 };
  const res = await requestOtp(h, { phone: ON_TELEGRAM });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.channel, "sms");
  assert.equal(fake.messages.length, 0);
  assert.ok(h.sms.lastCode(ON_TELEGRAM));

  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const tries = await triesOf(h, admin.token, body.request_id);
  assert.deepEqual(tries.map((d) => [d.provider, d.status]), [
    ["telegram_gateway", "failed"],
    ["webhook", "sent"],
  ]);
  assert.equal(tries[0].error, "telegram gateway answered 502");
});

Deno.test("Telegram Gateway - channel telegram works with the Gateway alone (no bot); a phone off Telegram is 503", async () => {
  await using g = await gatewayHarness();
  const { h, fake } = g;
  const res = await requestOtp(h, { phone: ON_TELEGRAM, channel: "telegram" });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.channel, "telegram");
  const code = fake.messages.at(-1)!.code;
  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id: body.request_id,
    code,
  });
  assert.equal(verified.status, 200);
  await verified.body?.cancel();

  const off = await requestOtp(h, { phone: OFF_TELEGRAM, channel: "telegram" });
  assert.equal(off.status, 503);
  assert.equal((await errorOf(off)).code, "CHANNEL_UNAVAILABLE");
  assert.equal(h.sms.messages.length, 0, "an explicit telegram never falls back to SMS");
  // Without a recipient there is no bot to open a deep link with.
  const deepLink = await requestOtp(h, { channel: "telegram" });
  assert.equal(deepLink.status, 503);
  assert.equal((await errorOf(deepLink)).code, "CHANNEL_UNAVAILABLE");
});

Deno.test("Telegram Gateway - signed delivery reports move the log entry to delivered; forged, stale and unsigned ones are 403", async () => {
  await using g = await gatewayHarness({ env: { PUBLIC_URL } });
  const { h, fake } = g;
  await using server = serveHarness(h);
  const res = await requestOtp(h, { phone: ON_TELEGRAM });
  assert.equal(res.status, 202);
  const { request_id } = await res.json();
  const message = fake.messages.at(-1)!;
  assert.equal(message.callbackUrl, `${PUBLIC_URL}/telegram/gateway/report`);
  // The proxy in front of PUBLIC_URL forwards the report to this instance.
  const reportUrl = `${server.url}/telegram/gateway/report`;
  message.callbackUrl = reportUrl;
  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const entry = async () => (await triesOf(h, admin.token, request_id))[0];
  assert.equal((await entry()).status, "sent");

  const nowSeconds = () => Math.floor(h.clock.now() / 1000);
  const body = JSON.stringify({
    request_id: message.requestId,
    phone_number: ON_TELEGRAM,
    request_cost: 0.01,
    delivery_status: { status: "delivered", updated_at: nowSeconds() },
    payload: request_id,
  });
  const post = async (headers: Record<string, string>) => {
    const answer = await fetch(reportUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    assert.match(answer.headers.get("content-type") ?? "", /application\/json/);
    return { status: answer.status, error: (await answer.json()).error };
  };
  const ts = String(nowSeconds());
  const forged = await post({
    "x-request-timestamp": ts,
    "x-request-signature": signGatewayReport("AAGmAAAAQKI_not-the-token", { timestamp: ts, body }),
  });
  assert.deepEqual([forged.status, forged.error.code], [403, "FORBIDDEN"]);
  const unsigned = await post({});
  assert.deepEqual([unsigned.status, unsigned.error.code], [403, "FORBIDDEN"]);
  const noSignature = await post({ "x-request-timestamp": ts });
  assert.equal(noSignature.status, 403);
  // Genuinely signed by the Gateway, but ten minutes old: a replay.
  assert.equal(
    await fake.report(message.requestId, "delivered", { timestamp: nowSeconds() - 600 }),
    403,
  );
  assert.equal((await entry()).status, "sent", "no refused report changed anything");

  assert.equal(await fake.report(message.requestId, "delivered", { timestamp: nowSeconds() }), 200);
  const delivered = await entry();
  assert.equal(delivered.status, "delivered");
  assert.equal(delivered.updated_at, new Date(h.clock.now()).toISOString());
  assert.equal(delivered.error, null);
  // Reports come again and out of order: a delivered message stays delivered.
  assert.equal(await fake.report(message.requestId, "expired", { timestamp: nowSeconds() }), 200);
  assert.equal((await entry()).status, "delivered");
  assert.ok(fake.reports.every((r) => !r.body.includes(message.code)), "reports carry no code");

  // A genuine report of a request Doorman does not know: 200, nothing changes.
  const other = await requestOtp(h, { phone: OFF_TELEGRAM }, { ip: "203.0.113.9" });
  await other.body?.cancel();
  const before = (await deliveries(h, admin.token)).raw;
  const unknown = JSON.stringify({
    request_id: "ffffffffffffffffffffffff",
    phone_number: ON_TELEGRAM,
    request_cost: 0.01,
    delivery_status: { status: "delivered", updated_at: nowSeconds() },
  });
  const answer = await fetch(reportUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-request-timestamp": ts,
      "x-request-signature": signGatewayReport(fake.token, { timestamp: ts, body: unknown }),
    },
    body: unknown,
  });
  assert.equal(answer.status, 200);
  await answer.body?.cancel();
  assert.equal((await deliveries(h, admin.token)).raw, before);
});

Deno.test("Telegram Gateway - a phone off Telegram whose SMS protection refuses is 403, with both refusals logged", async () => {
  await using g = await gatewayHarness({ env: { SMS_ALLOWED_COUNTRIES: "US" } });
  const { h, fake } = g;
  const events = recordLiveEvents(h);
  const uk = "+447400123456";
  const res = await requestOtp(h, { phone: uk });
  assert.equal(res.status, 403);
  assert.equal((await errorOf(res)).code, "RECIPIENT_NOT_ALLOWED");
  assert.deepEqual(fake.calls.map((c) => c.method), ["checkSendAbility"]);
  assert.equal(h.sms.attempts, 0);
  const refused = eventsOf(events, "otp.refused");
  assert.deepEqual(refused.map((e) => [e.reason, e.country, e.prefix]), [[
    "country",
    "GB",
    "+44740",
  ]]);
  const failed = eventsOf(events, "otp.failed");
  assert.equal(failed.length, 1);
  assert.equal(refused[0].request_id, failed[0].request_id);

  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const log = await deliveries(h, admin.token, "status=refused");
  // Newest first: the Gateway was asked, then SMS protection said no.
  assert.deepEqual(
    log.deliveries.map((d) => [d.channel, d.provider, d.country, d.to, d.request_id]),
    [
      ["sms", "doorman", "GB", "+4474•••3456", failed[0].request_id],
      ["telegram", "telegram_gateway", "GB", "+4474•••3456", failed[0].request_id],
    ],
  );
  assert.match(log.deliveries[0].error ?? "", /SMS_ALLOWED_COUNTRIES/);

  // On Telegram, the same phone gets its code there.
  fake.phonesOnTelegram.add(uk);
  const reached = await requestOtp(h, { phone: uk });
  assert.equal(reached.status, 202);
  assert.equal((await reached.json()).channel, "telegram");
});

Deno.test("Telegram Gateway - codes it delivers do not spend the SMS budget; past the budget it still delivers", async () => {
  await using g = await gatewayHarness({ env: { SMS_DAILY_LIMIT: "2" } });
  const { h, fake } = g;
  const events = recordLiveEvents(h);
  // Counted as a possible SMS while the Gateway is tried, then given back.
  const viaGateway = await requestOtp(h, { phone: ON_TELEGRAM });
  assert.equal((await viaGateway.json()).channel, "telegram");
  for (const phone of [OFF_TELEGRAM, "+16465550100"]) {
    const res = await requestOtp(h, { phone });
    assert.equal(res.status, 202, phone);
    assert.equal((await res.json()).channel, "sms");
  }
  const over = await requestOtp(h, { phone: "+13105550100" });
  assert.equal(over.status, 503);
  assert.equal((await errorOf(over)).code, "CHANNEL_UNAVAILABLE");
  assert.equal(eventsOf(events, "channel.budget_exhausted").length, 1);
  assert.deepEqual(eventsOf(events, "otp.refused").map((e) => e.reason), ["budget"]);

  h.clock.advance(61_000);
  const again = await requestOtp(h, { phone: ON_TELEGRAM });
  assert.equal(again.status, 202);
  assert.equal((await again.json()).channel, "telegram");
  assert.equal(fake.messages.length, 2);
  assert.equal(h.sms.messages.length, 2);

  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const fraud = await (await h.get("/api/v1/admin/fraud", { token: admin.token })).json();
  assert.equal(fraud.sms_today, 2);
});
