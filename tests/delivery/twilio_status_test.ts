import assert from "node:assert/strict";
import { codeMessage } from "../../core/delivery/messages.ts";
import { twilioChannel } from "../../core/delivery/twilio.ts";
import {
  parseTwilioStatus,
  twilioSignature,
  verifyTwilioSignature,
} from "../../core/delivery/twilio_signature.ts";
import { startFakeTwilio } from "../fakes/twilio.ts";

const ACCOUNT_SID = "AC5ef8732a3c49700934481addd5ce1659";
const AUTH_TOKEN = "c3f1a7e0b9d24c6e8f5a1b2c3d4e5f60";
const TO = "+14155552671";

// The worked example of Twilio's webhook security guide
// (twilio.com/docs/usage/webhooks/webhooks-security).
const DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2";
const DOC_PARAMS = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+12349013030",
  Digits: "1234",
  From: "+12349013030",
  To: "+18005551212",
};

/** A status callback endpoint as Doorman's would be: 204 when Twilio signed it, else 403. */
function startStatusReceiver() {
  const received: { params: URLSearchParams; valid: boolean }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const params = new URLSearchParams(await req.text());
    // Signed over the URL as configured (behind a proxy `req.url` would differ from it).
    const valid = verifyTwilioSignature(AUTH_TOKEN, {
      url: receiver.url,
      params,
      header: req.headers.get("x-twilio-signature"),
    });
    received.push({ params, valid });
    return new Response(null, { status: valid ? 204 : 403 });
  });
  const receiver = {
    url: `http://127.0.0.1:${server.addr.port}/sms/status?via=twilio`,
    received,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
  return receiver;
}

Deno.test("twilioSignature() - matches the signatures in Twilio's documentation", () => {
  assert.equal(twilioSignature("12345", DOC_URL, DOC_PARAMS), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  // The same example in the twilio-php docs, with other numbers.
  const php = { ...DOC_PARAMS, Caller: "+14158675309", From: "+14158675309" };
  assert.equal(twilioSignature("12345", DOC_URL, php), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  // The order the parameters arrive in does not matter; they are sorted by name.
  const shuffled = new URLSearchParams(Object.entries(DOC_PARAMS).reverse());
  assert.equal(twilioSignature("12345", DOC_URL, shuffled), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
});

Deno.test("verifyTwilioSignature() - refuses a changed parameter, URL, token or header", () => {
  const header = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
  const verify = (
    over: { token?: string; url?: string; params?: Record<string, string>; header?: string | null },
  ) =>
    verifyTwilioSignature(over.token ?? "12345", {
      url: over.url ?? DOC_URL,
      params: over.params ?? DOC_PARAMS,
      header: "header" in over ? over.header : header,
    });
  assert.equal(verify({}), true);
  assert.equal(verify({ params: { ...DOC_PARAMS, Digits: "9999" } }), false);
  assert.equal(verify({ params: { ...DOC_PARAMS, Extra: "" } }), false);
  assert.equal(verify({ url: "https://mycompany.com/myapp.php?foo=1&bar=3" }), false);
  assert.equal(verify({ token: "54321" }), false);
  assert.equal(verify({ header: null }), false);
  assert.equal(verify({ header: "" }), false);
  assert.equal(verify({ header: header.slice(0, -1) }), false);
  assert.equal(verify({ header: "1/KCTR6DLpKmkAf8muzZqo1nDgQ=" }), false);
});

Deno.test("twilio provider - asks for status callbacks and returns the message SID", async () => {
  await using twilio = startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  await using receiver = startStatusReceiver();
  const channel = twilioChannel({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    from: "+15005550006",
    apiRoot: twilio.apiRoot,
    statusCallbackUrl: receiver.url,
  });
  const receipt = await channel.send(TO, codeMessage("493817", 300));
  assert.match(receipt?.providerId ?? "", /^SM[0-9a-f]{32}$/);
  assert.equal(twilio.messages[0].sid, receipt?.providerId);
  assert.equal(twilio.messages[0].statusCallback, receiver.url);
  const sid = receipt!.providerId!;

  assert.equal(await twilio.sendStatus(sid, "sent"), 204);
  assert.equal(await twilio.sendStatus(sid, "delivered"), 204);
  assert.ok(receiver.received.every((r) => r.valid));
  assert.deepEqual(parseTwilioStatus(receiver.received[1].params), {
    messageSid: sid,
    status: "delivered",
  });
  assert.equal(receiver.received[1].params.get("To"), TO);
  assert.match(receiver.received[1].params.get("RawDlrDoneDate") ?? "", /^\d{10}$/);
  assert.ok(!receiver.received.some((r) => r.params.toString().includes("493817")));

  assert.equal(await twilio.sendStatus(sid, "undelivered", { errorCode: 30003 }), 204);
  assert.deepEqual(parseTwilioStatus(receiver.received[2].params), {
    messageSid: sid,
    status: "undelivered",
    errorCode: 30003,
  });
});

Deno.test("twilio provider - without a status callback URL it sends none, and still returns the SID", async () => {
  await using twilio = startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  const channel = twilioChannel({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    from: "+15005550006",
    apiRoot: twilio.apiRoot,
  });
  const receipt = await channel.send("+447911123456", codeMessage("493817", 300));
  assert.equal(twilio.messages[0].statusCallback, undefined);
  assert.equal(receipt?.providerId, twilio.messages[0].sid);
});

Deno.test("twilio status callback - a forged or tampered callback is refused", async () => {
  await using receiver = startStatusReceiver();
  const params = new URLSearchParams({
    AccountSid: ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    From: "+15005550006",
    MessageSid: "SM0123456789abcdef0123456789abcdef",
    MessageStatus: "delivered",
    SmsSid: "SM0123456789abcdef0123456789abcdef",
    SmsStatus: "delivered",
    To: TO,
  });
  const post = async (body: URLSearchParams, signature?: string) => {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (signature !== undefined) headers["x-twilio-signature"] = signature;
    const response = await fetch(receiver.url, { method: "POST", headers, body });
    await response.body?.cancel();
    return response.status;
  };
  assert.equal(await post(params, twilioSignature(AUTH_TOKEN, receiver.url, params)), 204);
  assert.equal(await post(params), 403);
  assert.equal(await post(params, twilioSignature("not-the-token", receiver.url, params)), 403);
  const otherUrl = receiver.url.replace("via=twilio", "via=other");
  assert.equal(await post(params, twilioSignature(AUTH_TOKEN, otherUrl, params)), 403);
  const signed = twilioSignature(AUTH_TOKEN, receiver.url, params);
  const tampered = new URLSearchParams(params);
  tampered.set("MessageStatus", "failed");
  assert.equal(await post(tampered, signed), 403);
});

Deno.test("parseTwilioStatus() - not a status callback is null", () => {
  const sid = "SM0123456789abcdef0123456789abcdef";
  assert.deepEqual(
    parseTwilioStatus({ MessageSid: sid, MessageStatus: "failed", ErrorCode: "30007" }),
    {
      messageSid: sid,
      status: "failed",
      errorCode: 30007,
    },
  );
  assert.deepEqual(parseTwilioStatus({ SmsSid: sid, SmsStatus: "sent" }), {
    messageSid: sid,
    status: "sent",
  });
  for (
    const params of [
      {},
      { MessageStatus: "delivered" },
      { MessageSid: sid },
      { MessageSid: "SM1", MessageStatus: "delivered" },
      { MessageSid: sid, MessageStatus: "teleported" },
      { MessageSid: "CA0123456789abcdef0123456789abcdef", MessageStatus: "completed" },
    ]
  ) {
    assert.equal(parseTwilioStatus(params as Record<string, string>), null, JSON.stringify(params));
  }
});
