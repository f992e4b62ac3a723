import assert from "node:assert/strict";
import { FakeClock } from "../../core/clock.ts";
import { ConfigError, loadConfig } from "../../core/config.ts";
import { createContext } from "../../core/context.ts";
import { memoryLogger } from "../../core/log.ts";
import { errorOf, type Harness, startHarness, TEST_SECRET } from "../helpers.ts";
import { ADMIN_EMAIL, requestOtp, signInByEmail } from "./helpers.ts";

const PHONE = "+14155550123";
const EMAIL = "review@example.com";
const FIXED = "424242";

/** Production with test recipients, an admin by email, and the harness's signed webhooks. */
const ENV = {
  APP_ENV: "production",
  JWT_SECRET: TEST_SECRET,
  OTP_TEST_RECIPIENTS: `${PHONE}=${FIXED},${EMAIL}=000000`,
  ADMIN_EMAILS: ADMIN_EMAIL,
};

function configWith(extra: Record<string, string>) {
  return loadConfig({
    ...ENV,
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: "http://127.0.0.1:9/sms",
    SMS_WEBHOOK_SECRET: "sms-hook-secret",
    EMAIL_PROVIDER: "webhook",
    EMAIL_WEBHOOK_URL: "http://127.0.0.1:9/email",
    EMAIL_WEBHOOK_SECRET: "email-hook-secret",
    ...extra,
  });
}

function refusedWith(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof ConfigError && error.problems.some((p) => pattern.test(p));
}

/** A new request for the test phone (past the resend cooldown), its id. */
async function newRequest(h: Harness): Promise<string> {
  h.clock.advance(61_000);
  const res = await requestOtp(h, { phone: PHONE });
  assert.equal(res.status, 202, await res.clone().text());
  return (await res.json()).request_id;
}

/** A guess from its own IP, so the per-IP cap of wrong codes stays out of the way. */
function guess(h: Harness, requestId: string, code: string, n: number): Promise<Response> {
  return h.post("/api/v1/auth/otp/verify", { request_id: requestId, code }, {
    ip: `198.51.100.${10 + n}`,
  });
}

async function wrongCodes(h: Harness, requestId: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await guess(h, requestId, "999999", i);
    assert.equal(res.status, 400);
    assert.equal((await errorOf(res)).code, "INVALID_CODE");
  }
}

Deno.test("test recipients - a fixed code of 5 digits, or a test recipient that is an admin, is refused at start", async () => {
  assert.throws(
    () => configWith({ OTP_TEST_RECIPIENTS: `${PHONE}=12345` }),
    refusedWith(/the code of "\+14155550123" must be 6-10 digits/),
  );
  assert.equal(configWith({ OTP_TEST_RECIPIENTS: `${PHONE}=123456` }).testRecipients.size, 1);
  assert.throws(
    () => configWith({ ADMIN_PHONES: "+1 415 555 0123" }),
    refusedWith(/"\+14155550123" is also in ADMIN_PHONES; a test recipient cannot be an admin/),
  );
  assert.throws(
    () => configWith({ ADMIN_EMAILS: `${ADMIN_EMAIL},Review@Example.com` }),
    refusedWith(/"review@example.com" is also in ADMIN_EMAILS/),
  );

  // An admin stored before the address became a test recipient: refused too, naming the user.
  using kv = await Deno.openKv(":memory:");
  const clock = new FakeClock();
  {
    await using h = await startHarness({
      kv,
      clock,
      env: { ...ENV, ADMIN_EMAILS: EMAIL, OTP_TEST_RECIPIENTS: "" },
    });
    await signInByEmail(h, EMAIL);
  }
  const config = configWith({});
  await assert.rejects(
    () => createContext(config, kv, { clock, log: memoryLogger() }),
    refusedWith(/"review@example.com" is the email of admin usr_\w+; a test recipient cannot/),
  );
});

Deno.test("test recipients - an admin cannot make one an admin: 409 CONFLICT test_recipient", async () => {
  await using h = await startHarness({ env: ENV });
  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const signedIn = await guess(h, await newRequest(h), FIXED, 0);
  assert.equal(signedIn.status, 200);
  const { user } = await signedIn.json();
  const patch = (body: unknown) =>
    h.app.request(`/api/v1/admin/users/${user.id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: `Bearer ${admin.token}` },
      body: JSON.stringify(body),
    });

  const refused = await patch({ role: "admin" });
  assert.equal(refused.status, 409);
  const error = await errorOf(refused);
  assert.equal(error.code, "CONFLICT");
  assert.equal(error.reason, "test_recipient");
  const both = await patch({ role: "admin", status: "suspended" });
  assert.equal(both.status, 409, "nothing of a refused change is applied");
  await both.body?.cancel();
  const detail = await h.get(`/api/v1/admin/users/${user.id}`, { token: admin.token });
  assert.equal((await detail.json()).user.role, "user");
  // Other changes are fine.
  const plain = await patch({ role: "user", status: "active" });
  assert.equal(plain.status, 200);
  await plain.body?.cancel();
});

Deno.test("test recipients - never made an admin at sign-in, even were it among the admins", async () => {
  await using h = await startHarness({ env: ENV });
  // What loadConfig refuses, put past it: the sign-in still does not promote.
  h.ctx.config.adminPhones.push(PHONE);
  const res = await guess(h, await newRequest(h), FIXED, 0);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).user.role, "user");
});

Deno.test("test recipients - 10 wrong codes in a UTC day stop the fixed code until the next day", async () => {
  const clock = new FakeClock("2026-11-21T22:00:00.000Z");
  await using h = await startHarness({ env: ENV, clock });
  // 9 wrong codes over two requests: the fixed code still signs in.
  await wrongCodes(h, await newRequest(h), 5);
  const second = await newRequest(h);
  await wrongCodes(h, second, 4);
  const ninth = await guess(h, second, FIXED, 0);
  assert.equal(ninth.status, 200, "9 wrong codes leave the fixed code working");
  await ninth.body?.cancel();

  // The 10th: from now on the fixed code is wrong like any, and spends an attempt.
  const third = await newRequest(h);
  await wrongCodes(h, third, 1);
  const dead = await guess(h, third, FIXED, 0);
  assert.equal(dead.status, 400);
  const error = await errorOf(dead);
  assert.equal(error.code, "INVALID_CODE");
  assert.equal(error.attempts_left, 3);
  // The other test recipient has its own count.
  const email = await requestOtp(h, { email: EMAIL });
  const emailIn = await guess(h, (await email.json()).request_id, "000000", 0);
  assert.equal(emailIn.status, 200);
  await emailIn.body?.cancel();

  // The next UTC day it works again.
  clock.advance(Date.parse("2026-11-22T00:00:01.000Z") - clock.now());
  const nextDay = await guess(h, await newRequest(h), FIXED, 0);
  assert.equal(nextDay.status, 200);
  await nextDay.body?.cancel();
});

Deno.test("test recipients - 20 wrong codes sent at once, over two requests, spend the day's 10", async () => {
  await using h = await startHarness({ env: ENV });
  // Two bursts of 20 guesses, each on a request with 5 attempts: 10 wrong codes in all.
  for (const _ of [1, 2]) {
    const burst = await newRequest(h);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => guess(h, burst, String(900000 + i), i)),
    );
    const codes = await Promise.all(answers.map(async (res) => (await errorOf(res)).code));
    assert.equal(codes.filter((code) => code === "INVALID_CODE").length, 5);
    assert.equal(codes.filter((code) => code === "TOO_MANY_ATTEMPTS").length, 15);
  }

  const after = await guess(h, await newRequest(h), FIXED, 0);
  assert.equal(after.status, 400);
  const error = await errorOf(after);
  assert.equal(error.code, "INVALID_CODE");
  assert.equal(error.attempts_left, 4);
});
