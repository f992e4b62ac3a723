import assert from "node:assert/strict";
import { twilioSignature } from "../../core/delivery/twilio_signature.ts";
import { startFakeTwilio } from "../fakes/twilio.ts";
import { errorOf, type Harness, startHarness } from "../helpers.ts";
import {
  ADMIN_EMAIL,
  deliveries,
  type DeliveryJson,
  requestOtp,
  signInByEmail,
} from "./helpers.ts";

const ACCOUNT_SID = "AC5ef8732a3c49700934481addd5ce1659";
const AUTH_TOKEN = "c3f1a7e0b9d24c6e8f5a1b2c3d4e5f60";
const FROM = "+15005550006";

/**
 * A Doorman on a real port whose PUBLIC_URL is that port (the URL Twilio's signatures are
 * made over), sending SMS through a fake Twilio.
 */
async function twilioHarness() {
  const twilio = startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  let h: Harness | null = null;
  // Listening first: PUBLIC_URL must name the port before the harness is configured.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => h!.app.fetch(req, { remoteAddr: info.remoteAddr }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  h = await startHarness({
    env: {
      PUBLIC_URL: url,
      SMS_PROVIDER: "twilio",
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_FROM: FROM,
      TWILIO_API_ROOT: twilio.apiRoot,
      ADMIN_EMAILS: ADMIN_EMAIL,
    },
  });
  const harness = h;
  return {
    h: harness,
    twilio,
    url,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await harness[Symbol.asyncDispose]();
      await twilio[Symbol.asyncDispose]();
    },
  };
}

/** A status callback as Twilio posts it (form fields as the fake sends them). */
function statusParams(sid: string, to: string, status: string): URLSearchParams {
  return new URLSearchParams({
    AccountSid: ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    From: FROM,
    MessageSid: sid,
    MessageStatus: status,
    SmsSid: sid,
    SmsStatus: status,
    To: to,
  });
}

Deno.test("Twilio status callbacks - delivered and undelivered reach the delivery log; forged ones are 403", async () => {
  await using t = await twilioHarness();
  const { h, twilio, url } = t;
  const phones = ["+14155550100", "+12125550100", "+16465550100"];
  const requests: string[] = [];
  for (const phone of phones) {
    const res = await requestOtp(h, { phone, channel: "sms" });
    assert.equal(res.status, 202);
    requests.push((await res.json()).request_id);
    h.clock.advance(1_000);
  }
  assert.equal(twilio.messages.length, 3);
  for (const message of twilio.messages) {
    assert.equal(message.statusCallback, `${url}/twilio/status`);
  }
  const [first, second, third] = twilio.messages;
  const admin = await signInByEmail(h, ADMIN_EMAIL);
  const entryOf = async (sid: string): Promise<DeliveryJson> => {
    const { deliveries: all } = await deliveries(h, admin.token, "channel=sms");
    return all.find((d) => d.provider_id === sid)!;
  };
  const sent = await entryOf(first.sid);
  assert.deepEqual(
    [sent.request_id, sent.provider, sent.status, sent.to, sent.country],
    [requests[0], "twilio", "sent", "+1415•••0100", "US"],
  );

  // `queued`/`sent` say nothing new; `delivered` does.
  assert.equal(await twilio.sendStatus(first.sid, "sent"), 204);
  assert.equal((await entryOf(first.sid)).status, "sent");
  h.clock.advance(5_000);
  assert.equal(await twilio.sendStatus(first.sid, "delivered"), 204);
  const delivered = await entryOf(first.sid);
  assert.equal(delivered.status, "delivered");
  assert.equal(delivered.error, null);
  assert.equal(delivered.updated_at, new Date(h.clock.now()).toISOString());
  // A late `sent` does not move it back.
  assert.equal(await twilio.sendStatus(first.sid, "sent"), 204);
  assert.equal((await entryOf(first.sid)).status, "delivered");

  assert.equal(await twilio.sendStatus(second.sid, "undelivered", { errorCode: 30003 }), 204);
  const failed = await entryOf(second.sid);
  assert.equal(failed.status, "failed");
  assert.equal(failed.error, "twilio error 30003");

  // Forged: signed with another token, or not signed at all. 403 and no change.
  const post = async (params: URLSearchParams, signature?: string) => {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (signature !== undefined) headers["x-twilio-signature"] = signature;
    return await fetch(`${url}/twilio/status`, { method: "POST", headers, body: params });
  };
  const forgedParams = statusParams(third.sid, phones[2], "delivered");
  for (
    const signature of [
      twilioSignature("0123456789abcdef0123456789abcdef", `${url}/twilio/status`, forgedParams),
      twilioSignature(AUTH_TOKEN, `${url}/other`, forgedParams),
      "",
      undefined,
    ]
  ) {
    const res = await post(forgedParams, signature);
    assert.equal(res.status, 403);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    assert.equal((await errorOf(res)).code, "FORBIDDEN");
  }
  assert.equal((await entryOf(third.sid)).status, "sent");

  // Genuinely signed, but for a message Doorman never sent: 2xx, nothing changes.
  const before = (await deliveries(h, admin.token)).raw;
  const unknown = statusParams("SM0123456789abcdef0123456789abcdef", phones[2], "delivered");
  const res = await post(unknown, twilioSignature(AUTH_TOKEN, `${url}/twilio/status`, unknown));
  assert.ok(res.status >= 200 && res.status < 300, String(res.status));
  await res.body?.cancel();
  assert.equal((await deliveries(h, admin.token)).raw, before);

  // The genuine report for the third still works afterwards.
  assert.equal(await twilio.sendStatus(third.sid, "delivered"), 204);
  assert.equal((await entryOf(third.sid)).status, "delivered");
  // The codes are nowhere in the log.
  const log = (await deliveries(h, admin.token)).raw;
  for (const message of twilio.messages) {
    const code = message.body.match(/code is (\d+)/)![1];
    assert.ok(!log.includes(code));
  }
});
