/**
 * Faults of the Twilio provider, through the app as configured by the environment. What
 * core/delivery/twilio.ts claims: a 4xx is Twilio refusing before it creates the message (429
 * and 400 included), so nothing went out and the attempt is given back; a 5xx, a timeout or a
 * broken connection may have sent it, so it keeps counting; a refused connection sent nothing.
 * Hangs at the full 5 s deadline: hangs_test.ts.
 */
import assert from "node:assert/strict";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.ts";
import { recordEvents, startHarness } from "../helpers.ts";
import {
  TWILIO_AUTH_TOKEN,
  TWILIO_SECRETS,
  TWILIO_SID,
  twilioCode,
  twilioEnv,
} from "./providers.ts";
import { assertFault, type Expected, LIMIT_ENV } from "./scenario.ts";

const FAST_MS = 2_000;
const PHONE = "+14155550121";
const WARMUP = "+14155550122";

const FAULTS: { name: string; mode: FakeTwilio["mode"]; expected: Expected }[] = [
  {
    name: "answers 429 (error 20429) with Retry-After: refused before sending, given back",
    mode: { kind: "status", status: 429, code: 20429, retryAfter: 30 },
    expected: {
      status: 503,
      counted: false,
      lastError: /^twilio answered 429 \(error 20429\)$/,
      withinMs: FAST_MS,
    },
  },
  {
    name: "answers 400 (error 21211): refused before sending, given back",
    mode: { kind: "status", status: 400, code: 21211 },
    expected: {
      status: 503,
      counted: false,
      lastError: /^twilio answered 400 \(error 21211\)$/,
      withinMs: FAST_MS,
    },
  },
  {
    name: "answers 500 (error 20500): may have sent, still counts",
    mode: { kind: "status", status: 500, code: 20500 },
    expected: {
      status: 503,
      counted: true,
      lastError: /^twilio answered 500 \(error 20500\)$/,
      withinMs: FAST_MS,
    },
  },
  {
    name: "answers 503 (error 20503): may have sent, still counts",
    mode: { kind: "status", status: 503, code: 20503 },
    expected: {
      status: 503,
      counted: true,
      lastError: /^twilio answered 503 \(error 20503\)$/,
      withinMs: FAST_MS,
    },
  },
  {
    name: "creates the message, then closes the connection before answering",
    mode: { kind: "drop" },
    expected: {
      status: 503,
      counted: true,
      lastError: /^twilio connection (failed|closed|lost)/,
      withinMs: FAST_MS,
    },
  },
  {
    name: "refuses the connection (nothing listens)",
    mode: { kind: "refuse" },
    expected: {
      status: 503,
      counted: false,
      lastError: /^twilio could not be reached$/,
      withinMs: FAST_MS,
    },
  },
];

for (const fault of FAULTS) {
  Deno.test(`faults: twilio ${fault.name}`, async () => {
    await using twilio = startFakeTwilio(TWILIO_SID, TWILIO_AUTH_TOKEN);
    await using h = await startHarness({ env: { ...LIMIT_ENV, ...twilioEnv(twilio.apiRoot) } });
    const attemptsBefore = twilio.attempts;
    await assertFault({
      h,
      channel: "sms",
      body: (phone) => ({ phone }),
      recipient: PHONE,
      warmup: WARMUP,
      breakIt: () => twilio.mode = fault.mode,
      fixIt: () => twilio.mode = { kind: "ok" },
      expected: fault.expected,
      secrets: TWILIO_SECRETS,
      codeSeen: () => twilioCode(twilio, PHONE),
    });
    if (fault.mode.kind === "drop") {
      assert.ok(twilioCode(twilio, PHONE), "Twilio created the message before the drop");
    }
    if (fault.mode.kind !== "refuse") {
      assert.ok(twilio.attempts > attemptsBefore, "the fault was met at Twilio");
    }
  });
}

Deno.test("faults: twilio answers 201, then the body is cut: delivered", async () => {
  await using twilio = startFakeTwilio(TWILIO_SID, TWILIO_AUTH_TOKEN);
  await using h = await startHarness({ env: { ...LIMIT_ENV, ...twilioEnv(twilio.apiRoot) } });
  const events = recordEvents(h);
  twilio.mode = { kind: "cut" };
  const res = await h.post("/api/v1/auth/otp/request", { phone: PHONE });
  assert.equal(res.status, 202);
  assert.equal((await res.json()).channel, "sms");
  assert.ok(twilioCode(twilio, PHONE));
  const health = await (await h.get("/api/v1/health")).json();
  assert.equal(health.channels.sms.ok, true);
  assert.equal(events.filter((e) => e.type === "channel.down").length, 0);
});

Deno.test("faults: twilio drops the answer: the message is created once", async () => {
  // Twilio created the message, then the connection closed before its answer. On a kept-alive
  // connection Deno's fetch sends the POST again by itself: a second SMS, paid for, for one
  // counted request.
  await using twilio = startFakeTwilio(TWILIO_SID, TWILIO_AUTH_TOKEN);
  await using h = await startHarness({ env: { ...LIMIT_ENV, ...twilioEnv(twilio.apiRoot) } });
  const warm = await h.post("/api/v1/auth/otp/request", { phone: WARMUP });
  assert.equal(warm.status, 202, "a warm, kept-alive connection to Twilio");
  await warm.body?.cancel();
  twilio.mode = { kind: "drop" };
  const res = await h.post("/api/v1/auth/otp/request", { phone: PHONE });
  await res.body?.cancel();
  const created = twilio.messages.filter((m) => m.to === PHONE).length;
  assert.equal(created, 1, `one request created ${created} Twilio messages (${res.status})`);
});
