import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../core/config.ts";
import { errorOf, startHarness, TEST_SECRET } from "../helpers.ts";
import {
  ADMIN_EMAIL,
  deliveries,
  eventsOf,
  recordLiveEvents,
  requestOtp,
  signInByEmail,
} from "./helpers.ts";

const PHONE = "+14155550123";
const EMAIL = "review@example.com";
const RECIPIENTS = `${PHONE}=424242,${EMAIL}=000000`;

/**
 * What production asks for besides the harness's signed webhook providers: APP_ENV, a JWT
 * secret of 32 bytes (the harness's), and the test recipients.
 */
const PRODUCTION = {
  APP_ENV: "production",
  JWT_SECRET: TEST_SECRET,
  OTP_TEST_RECIPIENTS: RECIPIENTS,
  ADMIN_EMAILS: ADMIN_EMAIL,
};

/** A whole production configuration, for `loadConfig` alone. */
function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...PRODUCTION,
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: "http://127.0.0.1:9/sms",
    SMS_WEBHOOK_SECRET: "sms-hook-secret",
    EMAIL_PROVIDER: "webhook",
    EMAIL_WEBHOOK_URL: "http://127.0.0.1:9/email",
    EMAIL_WEBHOOK_SECRET: "email-hook-secret",
    ...extra,
  };
}

Deno.test("test recipients - in production they get 202, nothing is sent, and their fixed codes verify", async () => {
  await using h = await startHarness({ env: PRODUCTION });
  assert.equal(h.ctx.config.appEnv, "production");
  const events = recordLiveEvents(h);

  const phone = await requestOtp(h, { phone: "+1 (415) 555-0123" });
  assert.equal(phone.status, 202);
  const phoneBody = await phone.json();
  assert.equal(phoneBody.channel, "sms");
  assert.equal(phoneBody.expires_in, 300);
  const email = await requestOtp(h, { email: "Review@Example.com" });
  assert.equal(email.status, 202);
  const emailBody = await email.json();
  assert.equal(emailBody.channel, "email");
  assert.equal(h.sms.attempts + h.email.attempts, 0, "nothing reached a provider");

  // A wrong code is wrong, and costs an attempt, as for anyone.
  const wrong = await h.post("/api/v1/auth/otp/verify", {
    request_id: phoneBody.request_id,
    code: "000000",
  });
  assert.equal(wrong.status, 400);
  const error = await errorOf(wrong);
  assert.equal(error.code, "INVALID_CODE");
  assert.equal(error.attempts_left, 4);

  const phoneIn = await h.post("/api/v1/auth/otp/verify", {
    request_id: phoneBody.request_id,
    code: "424242",
  });
  assert.equal(phoneIn.status, 200);
  assert.equal((await phoneIn.json()).user.phone, PHONE);
  const emailIn = await h.post("/api/v1/auth/otp/verify", {
    request_id: emailBody.request_id,
    code: "000000",
  });
  assert.equal(emailIn.status, 200);
  assert.equal((await emailIn.json()).user.email, EMAIL);
  // Used once, like any code.
  const reused = await h.post("/api/v1/auth/otp/verify", {
    request_id: emailBody.request_id,
    code: "000000",
  });
  assert.equal(reused.status, 400);
  await reused.body?.cancel();

  // Every event about them says so.
  const about = events.filter((e) =>
    [phoneBody.request_id, emailBody.request_id].includes(e.data.request_id)
  );
  assert.deepEqual(
    about.map((e) => e.data.type),
    ["otp.sent", "otp.sent", "otp.invalid", "otp.verified", "otp.verified"],
  );
  for (const event of about) assert.equal(event.data.test, true, String(event.data.type));
});

Deno.test("test recipients - limits still apply: the 6th request in an hour is 429", async () => {
  await using h = await startHarness({ env: PRODUCTION });
  const events = recordLiveEvents(h);
  // The resend cooldown applies too.
  const first = await requestOtp(h, { phone: PHONE });
  assert.equal(first.status, 202);
  await first.body?.cancel();
  const soon = await requestOtp(h, { phone: PHONE });
  assert.equal(soon.status, 429);
  assert.equal((await errorOf(soon)).code, "RATE_LIMITED");
  for (let i = 2; i <= 5; i++) {
    h.clock.advance(61_000);
    const res = await requestOtp(h, { phone: PHONE });
    assert.equal(res.status, 202, `request ${i}`);
    await res.body?.cancel();
  }
  h.clock.advance(61_000);
  const sixth = await requestOtp(h, { phone: PHONE });
  assert.equal(sixth.status, 429);
  assert.ok(Number(sixth.headers.get("retry-after")) > 0);
  assert.equal((await errorOf(sixth)).code, "RATE_LIMITED");
  assert.equal(h.sms.attempts, 0);
  const limited = eventsOf(events, "otp.rate_limited");
  assert.deepEqual(limited.map((e) => [e.limit, e.test]), [
    ["cooldown", true],
    ["recipient", true],
  ]);

  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const log = await deliveries(h, admin.token, "channel=sms");
  assert.equal(log.deliveries.length, 5);
  for (const d of log.deliveries) {
    assert.deepEqual([d.provider, d.status, d.test, d.to], ["test", "sent", true, "+1415•••0123"]);
  }
  assert.ok(!log.raw.includes("424242"));
  const fraud = await (await h.get("/api/v1/admin/fraud", { token: admin.token })).json();
  assert.equal(fraud.sms_today, 0, "test recipients cost no SMS");
});

Deno.test("test recipients - more than 20, or a code that is not 6-10 digits, is a ConfigError", () => {
  const pairs = Array.from(
    { length: 21 },
    (_, i) => `tester${i}@example.com=${String(100000 + i)}`,
  );
  assert.equal(
    loadConfig(productionEnv({ OTP_TEST_RECIPIENTS: pairs.slice(0, 20).join(",") }))
      .testRecipients.size,
    20,
  );
  assert.throws(
    () => loadConfig(productionEnv({ OTP_TEST_RECIPIENTS: pairs.join(",") })),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems.some((p) => /OTP_TEST_RECIPIENTS: at most 20/.test(p)),
  );
  for (
    const bad of [`${PHONE}=12ab56`, `${PHONE}=12345`, `${PHONE}=12345678901`, `${PHONE}=`]
  ) {
    assert.throws(
      () => loadConfig(productionEnv({ OTP_TEST_RECIPIENTS: bad })),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((p) => p.includes(`the code of "${PHONE}" must be 6-10 digits`)) &&
        !error.message.includes(bad),
      bad,
    );
  }
  for (const bad of ["+1212000=424242", "not-an-address=424242", "424242"]) {
    assert.throws(
      () => loadConfig(productionEnv({ OTP_TEST_RECIPIENTS: bad })),
      ConfigError,
      bad,
    );
  }
  const config = loadConfig(productionEnv());
  assert.deepEqual([...config.testRecipients], [
    [`phone:${PHONE}`, "424242"],
    [`email:${EMAIL}`, "000000"],
  ]);
});
