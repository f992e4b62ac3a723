import assert from "node:assert/strict";
import { normalizePhone } from "../../core/auth/recipients.ts";
import { phonesIn } from "../../bench/doorman_process.ts";
import { errorOf, type Harness, spreadPhone, startHarness } from "../helpers.ts";
import { recordLiveEvents, requestOtp, send } from "./helpers.ts";

/*
 * Every cap holds for requests that arrive at the same moment: N parallel requests let out
 * exactly what N sequential ones would on one instance. Each burst comes from its own client
 * IPs, as a botnet sends it, so only the cap under test can stop it.
 */

/** `n` valid phones of the number range `+1415` (`+1 415 555 0100` on). */
function rangePhones(n: number): string[] {
  return [...phonesIn("+1415555", normalizePhone)].slice(0, n);
}

/** The `i`th of many distinct client addresses. */
function clientIp(i: number): string {
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** Sends every request at once and counts the answers by status and error code. */
async function burst(
  h: Harness,
  bodies: Record<string, unknown>[],
  ip: (i: number) => string = clientIp,
): Promise<Map<string, number>> {
  const answers = await Promise.all(
    bodies.map((body, i) => requestOtp(h, body, { ip: ip(i) })),
  );
  return tally(answers);
}

async function tally(answers: Response[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const res of answers) {
    const key = res.status < 400
      ? String(res.status)
      : `${res.status} ${(await errorOf(res)).code}`;
    if (res.status < 400) await res.body?.cancel();
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

Deno.test("SMS bursts - 100 at once to one range with the defaults: 10 go out, then the range is blocked", async () => {
  await using h = await startHarness();
  const events = recordLiveEvents(h);
  const answers = await burst(h, rangePhones(100).map((phone) => ({ phone, channel: "sms" })));
  // Sequentially: 10 SMS, none verified, so the 11th blocks the range (README, "Protecting an SMS
  // budget": the automatic block).
  assert.equal(h.sms.messages.length, 10, JSON.stringify([...answers]));
  assert.deepEqual(
    Object.fromEntries(answers),
    { "202": 10, "403 RECIPIENT_NOT_ALLOWED": 90 },
  );
  const blocked = events.filter((e) => e.data.type === "fraud.prefix_blocked");
  assert.equal(blocked.length, 1, "one block, told once");
  assert.equal(blocked[0].data.prefix, "+1415");
});

Deno.test("SMS bursts - 100 at once to one range without the automatic block: exactly the range cap of 30", async () => {
  await using h = await startHarness({ env: { SMS_PREFIX_AUTOBLOCK: "false" } });
  const answers = await burst(h, rangePhones(100).map((phone) => ({ phone, channel: "sms" })));
  assert.equal(h.sms.messages.length, 30);
  assert.deepEqual(Object.fromEntries(answers), { "202": 30, "429 RATE_LIMITED": 70 });
  // The answers that went out are the ones counted: the next hour's worth is what is left.
  h.clock.advance(61_000);
  const more = await requestOtp(h, { phone: rangePhones(101)[100], channel: "sms" });
  assert.equal(more.status, 429);
  assert.ok(Number(more.headers.get("retry-after")) > 0);
});

Deno.test("SMS bursts - a range cap of 3 lets exactly 3 of 40 at once out", async () => {
  await using h = await startHarness({
    env: { SMS_PREFIX_LIMIT_PER_HOUR: "3", SMS_PREFIX_AUTOBLOCK: "false" },
  });
  const answers = await burst(h, rangePhones(40).map((phone) => ({ phone, channel: "sms" })));
  assert.equal(h.sms.messages.length, 3);
  assert.equal(answers.get("202"), 3);
});

Deno.test("SMS bursts - SMS_DAILY_LIMIT=50: 400 at once over 30 ranges send exactly 50, the budget is told once", async () => {
  await using h = await startHarness({
    env: { SMS_DAILY_LIMIT: "50", SMS_PREFIX_AUTOBLOCK: "false" },
  });
  const events = recordLiveEvents(h);
  const phones = Array.from({ length: 400 }, (_, i) => spreadPhone(i));
  const answers = await burst(h, phones.map((phone) => ({ phone, channel: "sms" })));
  assert.equal(h.sms.messages.length, 50);
  assert.deepEqual(Object.fromEntries(answers), { "202": 50, "503 CHANNEL_UNAVAILABLE": 350 });
  const told = events.filter((e) => e.data.type === "channel.budget_exhausted");
  assert.equal(told.length, 1);
});

Deno.test("SMS bursts - the per-IP code cap: 50 at once from one address let exactly 30 through", async () => {
  await using h = await startHarness({ env: { SMS_PREFIX_AUTOBLOCK: "false" } });
  const phones = Array.from({ length: 50 }, (_, i) => spreadPhone(i));
  const answers = await burst(
    h,
    phones.map((phone) => ({ phone, channel: "sms" })),
    () => "203.0.113.99",
  );
  assert.deepEqual(Object.fromEntries(answers), { "202": 30, "429 RATE_LIMITED": 20 });
  assert.equal(h.sms.messages.length, 30);
});

Deno.test("wrong-code cap - 20 wrong codes at once from one IP with a cap of 3: 3 are evaluated, 17 refused", async () => {
  await using h = await startHarness({
    env: { OTP_VERIFY_FAILURES_PER_IP_PER_HOUR: "3", SMS_PREFIX_AUTOBLOCK: "false" },
  });
  // Five requests, four guesses each: no request runs out of its own 5 attempts.
  const requests: { requestId: string; code: string }[] = [];
  for (let i = 0; i < 5; i++) requests.push(await h.requestCode(spreadPhone(i), clientIp(i)));
  const guesses = Array.from({ length: 20 }, (_, i) => {
    const { requestId, code } = requests[i % 5];
    const wrong = code === "000000" ? "111111" : "000000";
    return send(h, "/api/v1/auth/otp/verify", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ request_id: requestId, code: wrong }),
      ip: "203.0.113.50",
    });
  });
  const answers = await tally(await Promise.all(guesses));
  assert.deepEqual(Object.fromEntries(answers), {
    "400 INVALID_CODE": 3,
    "429 RATE_LIMITED": 17,
  });
  // Right codes from that network are not evaluated either; another network's are.
  const right = await h.post("/api/v1/auth/otp/verify", {
    request_id: requests[0].requestId,
    code: requests[0].code,
  }, { ip: "203.0.113.50" });
  assert.equal(right.status, 429);
  await right.body?.cancel();
  const elsewhere = await h.post("/api/v1/auth/otp/verify", {
    request_id: requests[0].requestId,
    code: requests[0].code,
  }, { ip: "203.0.113.51" });
  assert.equal(elsewhere.status, 200);
  await elsewhere.body?.cancel();
});

Deno.test("wrong-code cap - a right code in flight does not use up the cap", async () => {
  await using h = await startHarness({ env: { OTP_VERIFY_FAILURES_PER_IP_PER_HOUR: "2" } });
  const requests: { requestId: string; code: string }[] = [];
  for (let i = 0; i < 4; i++) requests.push(await h.requestCode(spreadPhone(i), clientIp(i)));
  // Four right codes at once: none counts as a failure.
  const answers = await tally(
    await Promise.all(
      requests.map(({ requestId, code }) =>
        h.post("/api/v1/auth/otp/verify", { request_id: requestId, code }, { ip: "203.0.113.60" })
      ),
    ),
  );
  assert.deepEqual(Object.fromEntries(answers), { "200": 4 });
  const again = await h.requestCode(spreadPhone(9), clientIp(9));
  const wrong = await h.post("/api/v1/auth/otp/verify", {
    request_id: again.requestId,
    code: again.code === "000000" ? "111111" : "000000",
  }, { ip: "203.0.113.60" });
  assert.equal(wrong.status, 400);
  await wrong.body?.cancel();
});

Deno.test("premium-rate and shared-cost numbers never get an SMS", async () => {
  await using h = await startHarness({ env: { SMS_ALLOWED_COUNTRIES: "US,GB,FR" } });
  const events = recordLiveEvents(h);
  // Checked with libphonenumber's number type: US 900 premium rate, UK 0871 and FR 0891 premium
  // rate, FR 0810 shared cost.
  const paid = ["+19002345678", "+448712345678", "+33891234567", "+33810123456"];
  for (const [i, phone] of paid.entries()) {
    const res = await requestOtp(h, { phone, channel: "sms" }, { ip: clientIp(i) });
    assert.equal(res.status, 403, phone);
    const error = await errorOf(res);
    assert.equal(error.code, "RECIPIENT_NOT_ALLOWED");
    assert.match(String(error.message), /premium-rate or shared-cost/);
  }
  assert.equal(h.sms.messages.length, 0);
  const refused = events.filter((e) => e.data.type === "otp.refused");
  assert.deepEqual(refused.map((e) => e.data.reason), paid.map(() => "premium"));
  // An ordinary number of the same country still gets its code.
  const ok = await requestOtp(h, { phone: "+14155550100", channel: "sms" }, { ip: clientIp(9) });
  assert.equal(ok.status, 202);
  await ok.body?.cancel();
});
