import assert from "node:assert/strict";
import { startFakeTwilio } from "../fakes/twilio.ts";
import { errorOf, startHarness } from "../helpers.ts";

function twilioEnv(apiRoot: string, authToken: string): Record<string, string> {
  return {
    SMS_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: "AC123",
    TWILIO_AUTH_TOKEN: authToken,
    TWILIO_FROM: "+15005550006",
    TWILIO_API_ROOT: apiRoot,
  };
}

Deno.test("twilio provider - sends the code through the Messages API", async () => {
  await using twilio = startFakeTwilio("AC123", "auth-token");
  await using h = await startHarness({ env: twilioEnv(twilio.apiRoot, "auth-token") });
  const res = await h.post("/api/v1/auth/otp/request", { phone: "+1 415 555 0100" });
  assert.equal(res.status, 202);
  const { request_id } = await res.json();
  assert.equal(twilio.messages.length, 1);
  const message = twilio.messages[0];
  assert.equal(message.to, "+14155550100");
  assert.equal(message.from, "+15005550006");
  const code = message.body.match(/code is (\d{6})/)![1];
  const verified = await h.post("/api/v1/auth/otp/verify", { request_id, code });
  assert.equal(verified.status, 200);
  await verified.body?.cancel();
});

Deno.test("twilio provider - a refusal is 503 CHANNEL_UNAVAILABLE with the Twilio code in health", async () => {
  await using twilio = startFakeTwilio("AC123", "auth-token");
  await using h = await startHarness({ env: twilioEnv(twilio.apiRoot, "wrong-token") });
  const res = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
  assert.equal(res.status, 503);
  assert.equal((await errorOf(res)).code, "CHANNEL_UNAVAILABLE");
  const health = await (await h.get("/api/v1/health")).json();
  assert.equal(health.channels.sms.provider, "twilio");
  assert.equal(health.channels.sms.last_error, "twilio answered 401 (error 20003)");
});
