import assert from "node:assert/strict";
import { errorOf, startHarness } from "../helpers.ts";
import { startTelegramHarness } from "../telegram/helpers.ts";
import {
  ADMIN_EMAIL,
  deliveries,
  eventsOf,
  recordLiveEvents,
  requestOtp,
  signInByEmail,
} from "./helpers.ts";

// Checked with normalizePhone/phoneRange: country and number range of each.
const US = "+14155550100"; // US, +1415
const CA = "+16135550100"; // CA, +1613
const UK = "+447400123456"; // GB, +44740
const RU = "+79161234567"; // RU, +7916

Deno.test("SMS allowlist - a phone of another country is refused 403, sent nothing, and logged as refused", async () => {
  await using h = await startHarness({
    env: { SMS_ALLOWED_COUNTRIES: "US,CA", ADMIN_EMAILS: ADMIN_EMAIL },
  });
  const events = recordLiveEvents(h);

  // A second between requests, so "newest first" has one answer.
  for (const phone of [UK, RU]) {
    const res = await requestOtp(h, { phone, channel: "sms" });
    h.clock.advance(1_000);
    assert.equal(res.status, 403);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const error = await errorOf(res);
    assert.equal(error.code, "RECIPIENT_NOT_ALLOWED");
  }
  // `auto` without another channel that can reach the phone is the same refusal.
  const auto = await requestOtp(h, { phone: UK, channel: "auto" }, { ip: "203.0.113.8" });
  h.clock.advance(1_000);
  assert.equal(auto.status, 403);
  assert.equal((await errorOf(auto)).code, "RECIPIENT_NOT_ALLOWED");
  assert.equal(h.sms.messages.length, 0, "nothing was sent");
  assert.equal(h.sms.attempts, 0);

  const us = await requestOtp(h, { phone: US, channel: "sms" });
  h.clock.advance(1_000);
  assert.equal(us.status, 202);
  assert.equal((await us.json()).channel, "sms");
  const ca = await requestOtp(h, { phone: CA, channel: "sms" });
  assert.equal(ca.status, 202);
  await ca.body?.cancel();
  assert.deepEqual(h.sms.messages.map((m) => m.to), [US, CA]);

  const refusals = eventsOf(events, "otp.refused");
  assert.deepEqual(
    refusals.map((e) => [e.reason, e.country, e.prefix, e.channel]),
    [["country", "GB", "+44740", "sms"], ["country", "RU", "+7916", "sms"], [
      "country",
      "GB",
      "+44740",
      "sms",
    ]],
  );

  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const refused = await deliveries(h, admin.token, "status=refused");
  assert.equal(refused.deliveries.length, 3);
  assert.deepEqual(
    refused.deliveries.map((d) => [d.channel, d.status, d.country, d.to, d.request_id]),
    [
      ["sms", "refused", "GB", "+4474•••3456", null],
      ["sms", "refused", "RU", "+7916•••4567", null],
      ["sms", "refused", "GB", "+4474•••3456", null],
    ].reverse(),
  );
  for (const d of refused.deliveries) {
    assert.match(d.error ?? "", /SMS_ALLOWED_COUNTRIES/);
    assert.equal(d.provider_id, null);
  }
  assert.ok(!refused.raw.includes(UK) && !refused.raw.includes(RU), "numbers are masked");
  // The two accepted ones are `sent`, with their codes nowhere in the log.
  const sms = await deliveries(h, admin.token, "channel=sms&status=sent");
  assert.deepEqual(sms.deliveries.map((d) => d.country), ["CA", "US"]);
  for (const message of h.sms.messages) {
    const code = message.text.match(/code is (\d+)/)![1];
    assert.ok(!sms.raw.includes(code) && !refused.raw.includes(code), "never the code");
  }
});

Deno.test("SMS allowlist - auto still reaches a Telegram-linked phone of a country SMS may not go to", async () => {
  await using t = await startTelegramHarness({ env: { SMS_ALLOWED_COUNTRIES: "US,CA" } });
  await t.share(UK);
  const res = await requestOtp(t.h, { phone: UK, channel: "auto" });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.channel, "telegram");
  assert.equal(t.h.sms.messages.length, 0);
  const code = t.lastCode();
  assert.ok(code, "the code went to the linked chat");
  const verified = await t.h.post("/api/v1/auth/otp/verify", {
    request_id: body.request_id,
    code,
  });
  assert.equal(verified.status, 200);
  assert.equal((await verified.json()).user.phone, UK);

  // Asked for SMS explicitly, the same phone is refused.
  t.h.clock.advance(61_000);
  const sms = await requestOtp(t.h, { phone: UK, channel: "sms" });
  assert.equal(sms.status, 403);
  assert.equal((await errorOf(sms)).code, "RECIPIENT_NOT_ALLOWED");
});

Deno.test("SMS range cap - the 4th SMS to one range in an hour is 429 with Retry-After; other ranges go on", async () => {
  await using h = await startHarness({
    env: { SMS_PREFIX_LIMIT_PER_HOUR: "3", SMS_PREFIX_AUTOBLOCK: "false" },
  });
  const events = recordLiveEvents(h);
  const phones = ["+14155550101", "+14155550102", "+14155550103", "+14155550104"];
  for (const phone of phones.slice(0, 3)) {
    const res = await requestOtp(h, { phone, channel: "sms" });
    assert.equal(res.status, 202);
    await res.body?.cancel();
  }
  const fourth = await requestOtp(h, { phone: phones[3], channel: "sms" });
  assert.equal(fourth.status, 429);
  const error = await errorOf(fourth);
  assert.equal(error.code, "RATE_LIMITED");
  const retryAfter = Number(fourth.headers.get("retry-after"));
  // Counted in 10-minute buckets, a bucket leaves the rolling hour at its end: up to 70 min.
  assert.ok(retryAfter > 0 && retryAfter <= 4200, `Retry-After ${retryAfter}`);
  assert.equal(error.retry_after, retryAfter);
  assert.deepEqual(h.sms.messages.map((m) => m.to), phones.slice(0, 3), "nothing sent");
  const limited = eventsOf(events, "otp.rate_limited");
  assert.equal(limited.length, 1);
  assert.equal(limited[0].limit, "range");
  assert.equal(limited[0].prefix, "+1415");

  // A phone of another range is not held back.
  const other = await requestOtp(h, { phone: "+12125550100", channel: "sms" });
  assert.equal(other.status, 202);
  await other.body?.cancel();
  // `auto` meets the same cap (no other channel is configured).
  const auto = await requestOtp(h, { phone: phones[3] });
  assert.equal(auto.status, 429);
  await auto.body?.cancel();

  // Retry-After is exact: a second before it the range is still full, then it takes SMS again.
  h.clock.advance((retryAfter - 1) * 1000);
  const early = await requestOtp(h, { phone: phones[3], channel: "sms" });
  assert.equal(early.status, 429);
  assert.equal(Number(early.headers.get("retry-after")), 1);
  await early.body?.cancel();
  h.clock.advance(1_000);
  const later = await requestOtp(h, { phone: phones[3], channel: "sms" });
  assert.equal(later.status, 202);
  await later.body?.cancel();
  assert.equal(h.sms.messages.at(-1)!.to, phones[3]);
});

Deno.test("SMS daily limit - past it SMS is 503, told once; Telegram still delivers; the next UTC day SMS flows", async () => {
  await using t = await startTelegramHarness({
    env: { SMS_DAILY_LIMIT: "3", ADMIN_EMAILS: ADMIN_EMAIL },
  });
  const h = t.h;
  const events = recordLiveEvents(h);
  // Phones of different ranges: only the daily budget can stop them.
  const phones = ["+12025550100", "+12125550100", "+13105550100"];
  for (const phone of phones) {
    const res = await requestOtp(h, { phone });
    assert.equal(res.status, 202);
    assert.equal((await res.json()).channel, "sms");
  }
  const linked = "+17185550100";
  await t.share(linked);

  const unlinked = ["+16465550100", "+14155550100", "+15145550100"];
  for (const [i, phone] of unlinked.entries()) {
    const res = await requestOtp(h, { phone }, { ip: `203.0.113.${20 + i}` });
    assert.equal(res.status, 503);
    assert.equal((await errorOf(res)).code, "CHANNEL_UNAVAILABLE");
  }
  const explicit = await requestOtp(h, { phone: linked, channel: "sms" });
  assert.equal(explicit.status, 503);
  assert.equal((await errorOf(explicit)).code, "CHANNEL_UNAVAILABLE");
  assert.equal(h.sms.messages.length, 3, "no SMS past the budget");
  const exhausted = eventsOf(events, "channel.budget_exhausted");
  assert.equal(exhausted.length, 1, "told once");
  assert.deepEqual(
    { channel: exhausted[0].channel, limit: exhausted[0].limit, day: exhausted[0].day },
    { channel: "sms", limit: 3, day: "2026-11-21" },
  );

  // `auto` still uses the linked Telegram chat.
  const viaTelegram = await requestOtp(h, { phone: linked });
  assert.equal(viaTelegram.status, 202);
  assert.equal((await viaTelegram.json()).channel, "telegram");
  assert.ok(t.lastCode());

  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const fraud = await h.get("/api/v1/admin/fraud", { token: admin.token });
  assert.equal(fraud.status, 200);
  assert.deepEqual(await fraud.json(), {
    blocked_prefixes: [],
    sms_today: 3,
    sms_daily_limit: 3,
  });
  const refused = await deliveries(h, admin.token, "status=refused");
  assert.equal(refused.deliveries.length, 4);
  assert.ok(refused.deliveries.every((d) => /SMS_DAILY_LIMIT/.test(d.error ?? "")));

  // The next UTC day (the clock starts at 10:00Z) has a new budget.
  h.clock.advance(14 * 3_600_000 + 1_000);
  const tomorrow = await requestOtp(h, { phone: unlinked[0] });
  assert.equal(tomorrow.status, 202);
  assert.equal((await tomorrow.json()).channel, "sms");
  assert.equal(h.sms.messages.at(-1)!.to, unlinked[0]);
  // The access token of this morning has expired: sign in again.
  const again = await signInByEmail(h, ADMIN_EMAIL);
  const next = await h.get("/api/v1/admin/fraud", { token: again.token });
  assert.equal((await next.json()).sms_today, 1);
  assert.equal(eventsOf(events, "channel.budget_exhausted").length, 1);
});
