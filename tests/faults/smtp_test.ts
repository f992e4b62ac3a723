/**
 * Faults of the SMTP provider, through the app as configured by the environment. What
 * core/delivery/smtp.ts claims: "only once the server was given the message itself (`DATA`)
 * can it have been sent; a refused login, sender or recipient, or no connection at all, sends
 * nothing". So a reply refusing the session before the message (421 greeting) gives the attempt
 * back; any failure once the whole message went over (a 451/554 reply to it, the server hanging
 * up or going silent after it) keeps it counted. Hangs at the full 5 s deadline: hangs_test.ts.
 */
import type { FakeSmtp } from "../fakes/smtp.ts";
import { startHarness } from "../helpers.ts";
import { SMTP_SECRETS, smtpCode, smtpEnv, startSmtp } from "./providers.ts";
import { assertFault, type Expected, LIMIT_ENV } from "./scenario.ts";

const FAST_MS = 2_000;
const EMAIL = "ada@example.com";
const WARMUP = "bob@example.com";

const FAULTS: { name: string; mode: FakeSmtp["mode"]; expected: Expected }[] = [
  {
    name: "greets with 421 (busy, try later): nothing handed over, given back",
    mode: {
      kind: "reply",
      stage: "greeting",
      code: 421,
      text: "4.3.2 Service not available, closing transmission channel",
    },
    expected: { status: 503, counted: false, lastError: /^smtp answered 421$/, withinMs: FAST_MS },
  },
  {
    name: "answers the message with 451 (try later): handed over, still counts",
    mode: { kind: "reply", stage: "data", code: 451, text: "4.3.0 Temporary failure, try later" },
    expected: { status: 503, counted: true, lastError: /^smtp answered 451$/, withinMs: FAST_MS },
  },
  {
    name: "answers the message with 554 (failed): handed over, still counts",
    mode: { kind: "reply", stage: "data", code: 554, text: "5.0.0 Transaction failed" },
    expected: { status: 503, counted: true, lastError: /^smtp answered 554$/, withinMs: FAST_MS },
  },
  {
    name: "accepts the connection and closes it before greeting: given back",
    mode: { kind: "drop", stage: "greeting" },
    expected: {
      status: 503,
      counted: false,
      lastError: /^smtp (could not connect|connection (closed|lost))/,
      withinMs: FAST_MS,
    },
  },
  {
    name: "receives the whole message, then closes the connection before answering",
    mode: { kind: "drop", stage: "data" },
    expected: {
      status: 503,
      counted: true,
      lastError: /^smtp connection (closed|lost|failed)/,
      withinMs: FAST_MS,
    },
  },
  {
    name: "refuses the connection (nothing listens)",
    mode: { kind: "refuse" },
    expected: {
      status: 503,
      counted: false,
      lastError: /^smtp could not connect$/,
      withinMs: FAST_MS,
    },
  },
];

for (const fault of FAULTS) {
  Deno.test(`faults: smtp ${fault.name}`, async () => {
    await using smtp = startSmtp();
    await using h = await startHarness({ env: { ...LIMIT_ENV, ...smtpEnv(smtp) } });
    await assertFault({
      h,
      channel: "email",
      body: (email) => ({ email }),
      recipient: EMAIL,
      warmup: WARMUP,
      breakIt: () => smtp.mode = fault.mode,
      fixIt: () => smtp.mode = { kind: "ok" },
      expected: fault.expected,
      secrets: SMTP_SECRETS,
      codeSeen: () => smtpCode(smtp, EMAIL),
    });
  });
}
