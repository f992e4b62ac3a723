/**
 * What each provider's channel claims about each fault, with the channel built directly and a
 * short deadline (`timeoutMs: 300`), so hangs cost a fraction of a second: the `DeliveryError`
 * message (what `last_error` shows) and `mayHaveSent` (whether the attempt keeps counting).
 * The same faults through the app, at the configured deadlines: the other files here.
 */
import assert from "node:assert/strict";
import { DeliveryError } from "../../core/delivery/channel.ts";
import { codeMessage } from "../../core/delivery/messages.ts";
import { smtpChannel } from "../../core/delivery/smtp.ts";
import { twilioChannel } from "../../core/delivery/twilio.ts";
import { httpProviderChannel } from "../../core/delivery/http_provider.ts";
import { type FakeSmtp, startFakeSmtp } from "../fakes/smtp.ts";
import { type FakeTwilio, startFakeTwilio } from "../fakes/twilio.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../fakes/webhook_receiver.ts";

const TIMEOUT_MS = 300;
/** Slack for scheduling on a busy machine. */
const SLACK_MS = 700;
const MESSAGE = codeMessage("493817", 300);

/** A claim: delivered, or a failure with this message and `mayHaveSent` (unset: either). */
type Claim = "delivered" | { error: RegExp; mayHaveSent?: boolean };

async function claimOf(send: () => Promise<unknown>): Promise<{ claim: string; ms: number }> {
  const started = performance.now();
  const error = await send().then(() => null, (e) => e);
  const ms = Math.round(performance.now() - started);
  if (error === null) return { claim: "delivered", ms };
  assert.ok(error instanceof DeliveryError, `not a DeliveryError: ${error}`);
  return { claim: `${JSON.stringify(error.message)} mayHaveSent=${error.mayHaveSent}`, ms };
}

function matches(claim: string, expected: Claim): boolean {
  if (expected === "delivered") return claim === "delivered";
  const [, message, sent] = /^"(.*)" mayHaveSent=(true|false)$/.exec(claim) ?? [];
  return message !== undefined && expected.error.test(message) &&
    (expected.mayHaveSent === undefined || sent === String(expected.mayHaveSent));
}

async function checkClaim(
  send: () => Promise<unknown>,
  expected: Claim,
): Promise<void> {
  const { claim, ms } = await claimOf(send);
  const wanted = expected === "delivered"
    ? "delivered"
    : `${expected.error} mayHaveSent=${expected.mayHaveSent ?? "either"}`;
  assert.ok(matches(claim, expected), `claims ${claim} after ${ms} ms, expected ${wanted}`);
  assert.ok(ms <= TIMEOUT_MS + SLACK_MS, `took ${ms} ms with a ${TIMEOUT_MS} ms deadline`);
}

const HTTP_FAULTS = ["status 429", "status 400", "status 500", "status 503"] as const;

Deno.test("claims: twilio", async (t) => {
  await using twilio = startFakeTwilio("AC1", "token");
  const channel = twilioChannel({
    accountSid: "AC1",
    authToken: "token",
    from: "+15005550006",
    apiRoot: twilio.apiRoot,
    timeoutMs: TIMEOUT_MS,
  });
  const codes: Record<string, number> = { 429: 20429, 400: 21211, 500: 20500, 503: 20503 };
  const cases: [string, FakeTwilio["mode"], Claim][] = [
    ...HTTP_FAULTS.map((name): [string, FakeTwilio["mode"], Claim] => {
      const status = Number(name.split(" ")[1]);
      return [name, { kind: "status", status, code: codes[status], retryAfter: 30 }, {
        error: new RegExp(`^twilio answered ${status} \\(error ${codes[status]}\\)$`),
        // Twilio refuses with a 4xx before it creates the message.
        mayHaveSent: status >= 500,
      }];
    }),
    ["stall", { kind: "stall" }, { error: /^twilio timed out$/, mayHaveSent: true }],
    ["drop", { kind: "drop" }, { error: /^twilio connection failed$/, mayHaveSent: true }],
    ["cut after 201", { kind: "cut" }, "delivered"],
    ["refuse", { kind: "refuse" }, { error: /^twilio could not be reached$/, mayHaveSent: false }],
    ["ok again", { kind: "ok" }, "delivered"],
  ];
  for (const [name, mode, expected] of cases) {
    await t.step(name, async () => {
      twilio.mode = mode;
      await checkClaim(() => channel.send("+14155550100", MESSAGE), expected);
    });
  }
});

for (const name of ["sms", "email"] as const) {
  Deno.test(`claims: ${name} webhook`, async (t) => {
    await using receiver = startWebhookReceiver({ secret: "hook-secret" });
    const channel = httpProviderChannel(name, {
      url: receiver.url,
      secret: "hook-secret",
      timeoutMs: TIMEOUT_MS,
    });
    const cases: [string, WebhookReceiver["mode"], Claim][] = [
      ...HTTP_FAULTS.map((fault): [string, WebhookReceiver["mode"], Claim] => {
        const status = Number(fault.split(" ")[1]);
        // Any non-2xx may have sent: the receiver is the operator's, its statuses mean nothing
        // Doorman can rely on.
        return [fault, { kind: "status", status, retryAfter: 30 }, {
          error: new RegExp(`^${name} webhook answered ${status}$`),
          mayHaveSent: true,
        }];
      }),
      ["stall", { kind: "stall" }, {
        error: new RegExp(`^${name} webhook timed out$`),
        mayHaveSent: true,
      }],
      ["drop", { kind: "drop" }, {
        error: new RegExp(`^${name} webhook connection failed$`),
        mayHaveSent: true,
      }],
      ["cut after 200", { kind: "cut" }, "delivered"],
      ["refuse", { kind: "refuse" }, {
        error: new RegExp(`^${name} webhook could not be reached$`),
        mayHaveSent: false,
      }],
      ["ok again", { kind: "ok" }, "delivered"],
    ];
    for (const [fault, mode, expected] of cases) {
      await t.step(fault, async () => {
        receiver.mode = mode;
        await checkClaim(() => channel.send("ada@example.com", MESSAGE), expected);
      });
    }
  });
}

Deno.test("claims: smtp", async (t) => {
  await using smtp = startFakeSmtp({ user: "doorman", pass: "pass" });
  const channel = smtpChannel({ url: smtp.url, from: "codes@example.com", timeoutMs: TIMEOUT_MS });
  const cases: [string, FakeSmtp["mode"], Claim][] = [
    ["421 greeting", { kind: "reply", stage: "greeting", code: 421, text: "4.3.2 busy" }, {
      error: /^smtp answered 421$/,
      mayHaveSent: false,
    }],
    ["535 login", { kind: "reply", stage: "auth", code: 535, text: "5.7.8 no" }, {
      error: /^smtp refused the login$/,
      mayHaveSent: false,
    }],
    ["550 recipient", { kind: "reply", stage: "rcpt", code: 550, text: "5.1.1 unknown" }, {
      error: /^smtp answered 550$/,
      mayHaveSent: false,
    }],
    ["451 message", { kind: "reply", stage: "data", code: 451, text: "4.3.0 later" }, {
      error: /^smtp answered 451$/,
      mayHaveSent: true,
    }],
    ["554 message", { kind: "reply", stage: "data", code: 554, text: "5.0.0 failed" }, {
      error: /^smtp answered 554$/,
      mayHaveSent: true,
    }],
    ["stall before greeting", { kind: "stall", stage: "greeting" }, {
      error: /^smtp timed out$/,
      mayHaveSent: false,
    }],
    ["stall after the whole message", { kind: "stall", stage: "data" }, {
      error: /^smtp timed out$/,
      mayHaveSent: true,
    }],
    ["drop before greeting", { kind: "drop", stage: "greeting" }, {
      error: /^smtp (could not connect|connection (closed|lost))/,
      mayHaveSent: false,
    }],
    ["drop after the login", { kind: "drop", stage: "auth" }, {
      error: /^smtp connection (closed|lost|failed)/,
      mayHaveSent: false,
    }],
    ["drop after the whole message", { kind: "drop", stage: "data" }, {
      error: /^smtp connection (closed|lost|failed)/,
      mayHaveSent: true,
    }],
    ["refuse", { kind: "refuse" }, { error: /^smtp could not connect$/, mayHaveSent: false }],
    // Every reply late but each under the deadline: the whole send must still end by it.
    ["every reply 200 ms late", { kind: "slow", delayMs: 200 }, { error: /^smtp timed out$/ }],
    ["ok again", { kind: "ok" }, "delivered"],
  ];
  for (const [name, mode, expected] of cases) {
    await t.step(name, async () => {
      smtp.mode = mode;
      await checkClaim(() => channel.send("ada@example.com", MESSAGE), expected);
    });
  }
});
