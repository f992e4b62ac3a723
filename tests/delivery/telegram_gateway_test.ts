import assert from "node:assert/strict";
import { DeliveryError } from "../../core/delivery/channel.ts";
import { codeMessage } from "../../core/delivery/messages.ts";
import { GatewayApiError, TelegramGateway } from "../../core/delivery/telegram_gateway.ts";
import { telegramGatewayChannel } from "../../core/delivery/telegram_gateway_channel.ts";
import {
  parseGatewayReport,
  signGatewayReport,
  verifyGatewayReport,
} from "../../core/delivery/telegram_gateway_report.ts";
import { type FakeGateway, startFakeGateway } from "../fakes/telegram_gateway.ts";

const ON_TELEGRAM = "+14155552671";
const OFF_TELEGRAM = "+447911123456";
const TOKEN = "AAGmAAAAQKI_test-gateway-token";

/** A report endpoint as Doorman's would be: 200 for a genuine, fresh report, else 403. */
function startReportReceiver(gateway: TelegramGateway) {
  const received: { headers: Headers; body: string; verified: boolean }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.text();
    const verified = gateway.verifyReport(req.headers, body, Math.floor(Date.now() / 1000));
    received.push({ headers: req.headers, body, verified });
    return new Response(null, { status: verified ? 200 : 403 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/telegram/gateway/report`,
    received,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function setup(options: { timeoutMs?: number; token?: string } = {}) {
  const fake = startFakeGateway({ token: TOKEN, phonesOnTelegram: [ON_TELEGRAM] });
  const gateway = new TelegramGateway({
    token: options.token ?? TOKEN,
    apiRoot: fake.apiRoot,
    timeoutMs: options.timeoutMs,
  });
  return { fake, gateway };
}

async function failureOf(call: Promise<unknown>): Promise<DeliveryError> {
  const error = await call.then(() => null, (e) => e);
  assert.ok(error instanceof DeliveryError, `expected a DeliveryError, got ${error}`);
  return error;
}

function methodsCalled(fake: FakeGateway): string[] {
  return fake.calls.map((call) => call.method);
}

Deno.test("TelegramGateway.checkSendAbility() - a request id for a phone on Telegram, null for one off it", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  const ability = await gateway.checkSendAbility(ON_TELEGRAM);
  assert.ok(ability);
  assert.match(ability.requestId, /^[0-9a-f]{24}$/);
  assert.equal(ability.cost, fake.price);
  assert.equal(await gateway.checkSendAbility(OFF_TELEGRAM), null);
  assert.equal(await gateway.checkSendAbility("+1212000"), null);
  assert.deepEqual(methodsCalled(fake), Array(3).fill("checkSendAbility"));
  assert.deepEqual(fake.calls[1].params, { phone_number: OFF_TELEGRAM });
});

Deno.test("TelegramGateway - a wrong token is ACCESS_TOKEN_INVALID: refused, nothing sent", async () => {
  const { fake, gateway } = setup({ token: "AAGmAAAAQKI_wrong" });
  await using _ = fake;
  using _gateway = gateway;
  const error = await failureOf(gateway.checkSendAbility(ON_TELEGRAM));
  assert.ok(error instanceof GatewayApiError);
  assert.equal(error.message, "telegram gateway answered ACCESS_TOKEN_INVALID");
  assert.equal(error.mayHaveSent, false);
  assert.ok(!error.message.includes("wrong"), "the token is not in the message");
});

Deno.test("TelegramGateway - a check, a send and a status check share one kept-alive connection", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  const ability = await gateway.checkSendAbility(ON_TELEGRAM);
  await gateway.sendVerificationMessage({
    phone: ON_TELEGRAM,
    code: "493817",
    requestId: ability!.requestId,
  });
  await gateway.checkVerificationStatus(ability!.requestId, "493817");
  assert.equal(fake.calls.length, 3);
  assert.equal(fake.connections, 1);
});

Deno.test("TelegramGateway.sendVerificationMessage() - our code, ttl, payload and callback, free under the checked request id", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  const ability = await gateway.checkSendAbility(ON_TELEGRAM);
  const balanceAfterCheck = fake.balance;
  const sent = await gateway.sendVerificationMessage({
    phone: ON_TELEGRAM,
    code: "493817",
    ttlSeconds: 300,
    callbackUrl: "https://doorman.example.com/telegram/gateway/report",
    requestId: ability!.requestId,
    payload: "otp_01J9Z3Q6T8",
  });
  assert.equal(sent.requestId, ability!.requestId);
  assert.equal(sent.deliveryStatus?.status, "sent");
  assert.equal(sent.payload, "otp_01J9Z3Q6T8");
  assert.equal(fake.balance, balanceAfterCheck, "the send after a check is free");
  assert.deepEqual(fake.messages.map(({ at: _at, ...m }) => m), [{
    requestId: ability!.requestId,
    phone: ON_TELEGRAM,
    code: "493817",
    ttl: 300,
    payload: "otp_01J9Z3Q6T8",
    callbackUrl: "https://doorman.example.com/telegram/gateway/report",
    checked: true,
  }]);
  // A second send under the same request id is an error, as on the Gateway.
  const again = await failureOf(
    gateway.sendVerificationMessage({
      phone: ON_TELEGRAM,
      code: "493817",
      requestId: sent.requestId,
    }),
  );
  assert.equal(again.message, "telegram gateway answered REQUEST_ID_INVALID");
  assert.equal(again.mayHaveSent, false);
});

Deno.test("TelegramGateway.sendVerificationMessage() - a code lifetime outside 30–3600 s is sent as the nearest ttl", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  await gateway.sendVerificationMessage({ phone: ON_TELEGRAM, code: "4938", ttlSeconds: 2 });
  await gateway.sendVerificationMessage({ phone: ON_TELEGRAM, code: "49381726", ttlSeconds: 7200 });
  assert.deepEqual(fake.messages.map((m) => m.ttl), [30, 3600]);
});

Deno.test("TelegramGateway.sendVerificationMessage() - codes of 9 or 10 digits are refused before any call", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  for (const code of ["123456789", "1234567890", "123", "12ab56"]) {
    const error = await failureOf(gateway.sendVerificationMessage({ phone: ON_TELEGRAM, code }));
    assert.equal(error.message, "telegram gateway takes codes of 4 to 8 digits");
    assert.equal(error.mayHaveSent, false);
  }
  assert.equal(fake.calls.length, 0);
});

Deno.test("Gateway reports - a signed report reaches the callback, verifies and parses", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  await using receiver = startReportReceiver(gateway);
  fake.autoReport = ["delivered"];
  const sent = await gateway.sendVerificationMessage({
    phone: ON_TELEGRAM,
    code: "493817",
    callbackUrl: receiver.url,
    payload: "otp_01J9Z3Q6T8",
  });
  await fake.settled();
  assert.equal(await fake.report(sent.requestId, "read"), 200);
  assert.deepEqual(fake.reports.map((r) => [r.status, r.answer]), [["delivered", 200], [
    "read",
    200,
  ]]);
  assert.ok(receiver.received.every((r) => r.verified));
  const report = parseGatewayReport(receiver.received[1].body);
  assert.ok(report);
  assert.equal(report.requestId, sent.requestId);
  assert.equal(report.payload, "otp_01J9Z3Q6T8");
  assert.equal(report.status, "read");
  assert.equal(report.phoneNumber, ON_TELEGRAM);
  assert.ok(Math.abs(report.updatedAt - Date.now() / 1000) < 5);
  assert.ok(!receiver.received[1].body.includes("493817"), "reports do not carry the code");
  // An expired message is refunded, and the report says so.
  assert.equal(await fake.report(sent.requestId, "expired"), 200);
  assert.equal(parseGatewayReport(receiver.received[2].body)?.isRefunded, true);
});

Deno.test("Gateway reports - forged, altered, stale and unsigned reports are refused", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  await using receiver = startReportReceiver(gateway);
  const sent = await gateway.sendVerificationMessage({
    phone: ON_TELEGRAM,
    code: "493817",
    callbackUrl: receiver.url,
  });
  // Sent by the Gateway ten minutes ago (a replay): the endpoint refuses it.
  const stale = Math.floor(Date.now() / 1000) - 600;
  assert.equal(await fake.report(sent.requestId, "delivered", { timestamp: stale }), 403);
  assert.equal(await fake.report(sent.requestId, "read"), 200);
  const genuine = receiver.received[1];
  const timestamp = Number(genuine.headers.get("x-request-timestamp"));
  const signature = genuine.headers.get("x-request-signature")!;
  const check = (headers: Record<string, string>, body = genuine.body, now = timestamp) =>
    gateway.verifyReport(new Headers(headers), body, now);
  const ts = String(timestamp);
  assert.equal(check({ "x-request-timestamp": ts, "x-request-signature": signature }), true);
  const flipped = signature.replace(/^./, (c) => c === "0" ? "1" : "0");
  assert.equal(check({ "x-request-timestamp": ts, "x-request-signature": flipped }), false);
  const otherToken = signGatewayReport("AAGmAAAAQKI_other", { timestamp, body: genuine.body });
  assert.equal(check({ "x-request-timestamp": ts, "x-request-signature": otherToken }), false);
  const altered = genuine.body.replace('"read"', '"delivered"');
  assert.equal(
    check({ "x-request-timestamp": ts, "x-request-signature": signature }, altered),
    false,
  );
  // The signature covers the timestamp: moving it breaks the signature.
  const moved = String(timestamp + 1);
  assert.equal(check({ "x-request-timestamp": moved, "x-request-signature": signature }), false);
  assert.equal(check({ "x-request-signature": signature }), false);
  assert.equal(check({ "x-request-timestamp": ts }), false);
  assert.equal(check({ "x-request-timestamp": ts, "x-request-signature": "" }), false);
  assert.equal(
    check({ "x-request-timestamp": ts, "x-request-signature": signature.slice(2) }),
    false,
  );
  // Within five minutes either way, not beyond.
  const headers = { "x-request-timestamp": ts, "x-request-signature": signature };
  assert.equal(check(headers, genuine.body, timestamp + 300), true);
  assert.equal(check(headers, genuine.body, timestamp - 300), true);
  assert.equal(check(headers, genuine.body, timestamp + 301), false);
  assert.equal(check(headers, genuine.body, timestamp - 301), false);
  assert.equal(
    verifyGatewayReport(TOKEN, {
      headers: new Headers(headers),
      body: genuine.body,
      nowSeconds: timestamp,
    }),
    true,
  );
});

Deno.test("Gateway reports - a body that is not a delivery report parses as null", () => {
  const good = { request_id: "a1b2", phone_number: ON_TELEGRAM, request_cost: 0.01 };
  const delivered = { ...good, delivery_status: { status: "delivered", updated_at: 1735689600 } };
  assert.equal(parseGatewayReport(JSON.stringify(delivered))?.status, "delivered");
  assert.equal(TelegramGateway.parseReport(JSON.stringify(delivered))?.requestId, "a1b2");
  for (
    const body of [
      "",
      "not json",
      "null",
      "[]",
      JSON.stringify(good),
      JSON.stringify({ ...delivered, request_id: 7 }),
      JSON.stringify({ ...delivered, delivery_status: { status: "teleported", updated_at: 1 } }),
      JSON.stringify({ ...delivered, delivery_status: { status: "read", updated_at: "soon" } }),
      JSON.stringify({ ...delivered, verification_status: { status: "maybe", updated_at: 1 } }),
    ]
  ) {
    assert.equal(parseGatewayReport(body), null, body);
  }
});

Deno.test("TelegramGateway.checkVerificationStatus() - the code the user typed reaches the Gateway", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  const sent = await gateway.sendVerificationMessage({ phone: ON_TELEGRAM, code: "493817" });
  const wrong = await gateway.checkVerificationStatus(sent.requestId, "000000");
  assert.equal(wrong.verificationStatus?.status, "code_invalid");
  const right = await gateway.checkVerificationStatus(sent.requestId, "493817");
  assert.equal(right.verificationStatus?.status, "code_valid");
  assert.equal(right.verificationStatus?.codeEntered, "493817");
  assert.deepEqual(fake.calls.at(-1), {
    method: "checkVerificationStatus",
    params: { request_id: sent.requestId, code: "493817" },
  });
  assert.equal(fake.statusOf(sent.requestId)?.verification_status?.status, "code_valid");
  const unknown = await failureOf(gateway.checkVerificationStatus("ffff", "493817"));
  assert.equal(unknown.message, "telegram gateway answered REQUEST_ID_INVALID");
});

Deno.test("TelegramGateway.revokeVerificationMessage() - a message not yet delivered is revoked", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  const sent = await gateway.sendVerificationMessage({ phone: ON_TELEGRAM, code: "493817" });
  assert.equal(await gateway.revokeVerificationMessage(sent.requestId), true);
  assert.equal(fake.statusOf(sent.requestId)?.delivery_status?.status, "revoked");
});

Deno.test("TelegramGateway - failures say whether the message may have gone out", async (t) => {
  const { fake, gateway } = setup({ timeoutMs: 300 });
  await using _ = fake;
  using _gateway = gateway;
  const send = () => gateway.sendVerificationMessage({ phone: ON_TELEGRAM, code: "493817" });
  const cases: [string, FakeGateway["mode"], RegExp, boolean][] = [
    ["front 500 page", { kind: "failing", status: 500 }, /^telegram gateway answered 500$/, true],
    ["front 502 page", { kind: "failing", status: 502 }, /^telegram gateway answered 502$/, true],
    [
      "unknown API error",
      {
        kind: "failing",
        status: 500,
        error: "INTERNAL_SERVER_ERROR",
      },
      /^telegram gateway answered INTERNAL_SERVER_ERROR$/,
      true,
    ],
    ["no balance", { kind: "failing", status: 400, error: "BALANCE_NOT_ENOUGH" }, /BALANCE/, false],
    [
      "flood wait",
      { kind: "failing", status: 429, error: "FLOOD_WAIT_12" },
      /FLOOD_WAIT_12/,
      false,
    ],
    ["slow answer", { kind: "slow", delayMs: 2_000 }, /^telegram gateway timed out$/, true],
    ["dropped after sending", { kind: "drop" }, /^telegram gateway connection failed$/, true],
  ];
  for (const [name, mode, message, mayHaveSent] of cases) {
    await t.step(name, async () => {
      fake.mode = mode;
      const error = await failureOf(send());
      assert.match(error.message, message);
      assert.equal(error.mayHaveSent, mayHaveSent);
      assert.ok(!error.message.includes("493817") && !error.message.includes(TOKEN));
    });
  }
  fake.mode = { kind: "failing", status: 429, error: "FLOOD_WAIT_12" };
  const flood = await failureOf(send());
  assert.ok(flood instanceof GatewayApiError);
  assert.equal(flood.retryAfterSeconds, 12);
  // Slow and dropped answers came after the message went out.
  assert.equal(fake.messages.length, 2);
  await t.step("not listening", async () => {
    fake.mode = { kind: "ok" };
    fake.down();
    // Going down closed the kept-alive connection; the client sees that before its next send
    // unless both happen in the same instant (then the send may have gone out: not this case).
    await new Promise((resolve) => setTimeout(resolve, 20));
    const error = await failureOf(send());
    assert.equal(error.message, "telegram gateway could not be reached");
    assert.equal(error.mayHaveSent, false);
    fake.up();
  });
});

Deno.test("telegramGatewayChannel - checks, then sends the code under the checked request id", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  const channel = telegramGatewayChannel(gateway, {
    callbackUrl: "https://doorman.example.com/telegram/gateway/report",
  });
  assert.equal(channel.name, "telegram");
  assert.equal(channel.provider, "telegram_gateway");
  const message = { ...codeMessage("493817", 300), code: "493817", ttlSeconds: 300 };
  const receipt = await channel.send(ON_TELEGRAM, { ...message, requestId: "otp_01J9Z3Q6T8" });
  assert.deepEqual(methodsCalled(fake), ["checkSendAbility", "sendVerificationMessage"]);
  assert.equal(receipt?.providerId, fake.messages[0].requestId);
  assert.equal(fake.messages[0].checked, true);
  assert.equal(fake.messages[0].payload, "otp_01J9Z3Q6T8");
  assert.equal(fake.messages[0].ttl, 300);

  const off = await failureOf(channel.send(OFF_TELEGRAM, message));
  assert.equal(off.message, "telegram gateway cannot reach this number");
  assert.equal(off.mayHaveSent, false);
  assert.equal(
    off.options.refused,
    true,
    "a number off Telegram says nothing of the Gateway's health",
  );
  const noCode = await failureOf(channel.send(ON_TELEGRAM, codeMessage("493817", 300)));
  assert.equal(noCode.mayHaveSent, false);
  const tooLong = await failureOf(channel.send(ON_TELEGRAM, { ...message, code: "4938172655" }));
  assert.equal(tooLong.message, "telegram gateway takes codes of 4 to 8 digits");
  assert.equal(fake.calls.length, 3, "codes it cannot carry cost no ability check");
  assert.equal(fake.messages.length, 1);
});

Deno.test("telegramGatewayChannel - a slow ability check sent nothing; a slow send may have", async () => {
  const { fake, gateway } = setup();
  await using _ = fake;
  using _gateway = gateway;
  const channel = telegramGatewayChannel(gateway, { timeoutMs: 300 });
  const message = { ...codeMessage("493817", 300), code: "493817", ttlSeconds: 300 };
  fake.mode = { kind: "slow", delayMs: 2_000, only: "checkSendAbility" };
  const check = await failureOf(channel.send(ON_TELEGRAM, message));
  assert.equal(check.message, "telegram gateway timed out");
  assert.equal(check.mayHaveSent, false);
  fake.mode = { kind: "slow", delayMs: 2_000, only: "sendVerificationMessage" };
  const send = await failureOf(channel.send(ON_TELEGRAM, message));
  assert.equal(send.message, "telegram gateway timed out");
  assert.equal(send.mayHaveSent, true);
  assert.equal(fake.messages.length, 1);
});
