/**
 * Every provider hanging past its deadline, through the app configured by the environment, at
 * the real deadlines: 5 s for the HTTP providers and SMTP (`PROVIDER_TIMEOUT_MS`), 10 s for a
 * Telegram send (grammY's `timeoutSeconds`, not configurable). Nothing is shortened or injected;
 * to keep the wall time at about one Telegram deadline the scenarios run at once, each with its
 * own fakes and harness, as concurrent steps. (The same hangs with a 300 ms deadline on channels
 * built directly: claims_test.ts.)
 */
import { startFakeTwilio } from "../fakes/twilio.ts";
import type { WebhookReceiver } from "../../fakes/webhook_receiver.ts";
import { startHarness } from "../helpers.ts";
import {
  SMTP_SECRETS,
  smtpCode,
  smtpEnv,
  startLinkedTelegram,
  startSmtp,
  TELEGRAM_SEND_TIMEOUT_MS,
  TELEGRAM_VARIANTS,
  telegramFault,
  TWILIO_AUTH_TOKEN,
  TWILIO_SECRETS,
  TWILIO_SID,
  twilioCode,
  twilioEnv,
} from "./providers.ts";
import { assertFault, LIMIT_ENV } from "./scenario.ts";

/** The HTTP providers' and SMTP's deadline (core/delivery/http_provider.ts). */
const PROVIDER_TIMEOUT_MS = 5_000;
/** Scheduling slack on top of a deadline. */
const SLACK_MS = 1_500;
/** Timers may fire a hair early. */
const EARLY_MS = 100;

const withinProvider = {
  withinMs: PROVIDER_TIMEOUT_MS + SLACK_MS,
  atLeastMs: PROVIDER_TIMEOUT_MS - EARLY_MS,
};
const withinTelegram = {
  withinMs: TELEGRAM_SEND_TIMEOUT_MS + SLACK_MS,
  atLeastMs: TELEGRAM_SEND_TIMEOUT_MS - EARLY_MS,
};

/** Steps that run at once: each owns its fakes, so the sanitizers are off for them. */
const concurrent = { sanitizeOps: false, sanitizeResources: false, sanitizeExit: false };

async function webhookHang(channel: "sms" | "email"): Promise<void> {
  await using h = await startHarness({ env: LIMIT_ENV });
  const receiver: WebhookReceiver = channel === "sms" ? h.sms : h.email;
  const [recipient, warmup] = channel === "sms"
    ? ["+14155550141", "+14155550142"]
    : ["ada@example.com", "bob@example.com"];
  await assertFault({
    h,
    channel,
    body: (to: string) => channel === "sms" ? { phone: to } : { email: to },
    recipient,
    warmup,
    breakIt: () => receiver.mode = { kind: "stall" },
    fixIt: () => receiver.mode = { kind: "ok" },
    expected: {
      status: 503,
      counted: true,
      lastError: new RegExp(`^${channel} webhook timed out$`),
      ...withinProvider,
    },
    secrets: [],
  });
}

Deno.test("hangs: every provider stalls past its deadline", async (t) => {
  const steps: [string, () => Promise<void>][] = [
    ["sms webhook: 503 after 5 s, still counts", () => webhookHang("sms")],
    ["email webhook: 503 after 5 s, still counts", () => webhookHang("email")],
    ["twilio: 503 after 5 s, still counts", async () => {
      await using twilio = startFakeTwilio(TWILIO_SID, TWILIO_AUTH_TOKEN);
      await using h = await startHarness({ env: { ...LIMIT_ENV, ...twilioEnv(twilio.apiRoot) } });
      await assertFault({
        h,
        channel: "sms",
        body: (phone) => ({ phone }),
        recipient: "+14155550143",
        warmup: "+14155550144",
        breakIt: () => twilio.mode = { kind: "stall" },
        fixIt: () => twilio.mode = { kind: "ok" },
        expected: {
          status: 503,
          counted: true,
          lastError: /^twilio timed out$/,
          ...withinProvider,
        },
        secrets: TWILIO_SECRETS,
        codeSeen: () => twilioCode(twilio, "+14155550143"),
      });
    }],
    ["smtp, silent before greeting: 503 after 5 s, nothing handed over, given back", async () => {
      await using smtp = startSmtp();
      await using h = await startHarness({ env: { ...LIMIT_ENV, ...smtpEnv(smtp) } });
      await assertFault({
        h,
        channel: "email",
        body: (email) => ({ email }),
        recipient: "ada@example.com",
        warmup: "bob@example.com",
        breakIt: () => smtp.mode = { kind: "stall", stage: "greeting" },
        fixIt: () => smtp.mode = { kind: "ok" },
        expected: { status: 503, counted: false, lastError: /^smtp timed out$/, ...withinProvider },
        secrets: SMTP_SECRETS,
      });
    }],
    ["smtp, silent after the whole message: 503 after 5 s, still counts", async () => {
      await using smtp = startSmtp();
      await using h = await startHarness({ env: { ...LIMIT_ENV, ...smtpEnv(smtp) } });
      await assertFault({
        h,
        channel: "email",
        body: (email) => ({ email }),
        recipient: "ada@example.com",
        warmup: "bob@example.com",
        breakIt: () => smtp.mode = { kind: "stall", stage: "data" },
        fixIt: () => smtp.mode = { kind: "ok" },
        expected: { status: 503, counted: true, lastError: /^smtp timed out$/, ...withinProvider },
        secrets: SMTP_SECRETS,
        codeSeen: () => smtpCode(smtp, "ada@example.com"),
      });
    }],
    ...TELEGRAM_VARIANTS.map((variant): [string, () => Promise<void>] => [
      `telegram, ${variant.name}: after 10 s, still counts`,
      async () => {
        await using tg = await startLinkedTelegram();
        await assertFault(telegramFault(tg, variant, {
          breakIt: () => tg.tg.failNext("sendMessage", "stall"),
          counted: true,
          lastError: /^telegram timed out$/,
          ...withinTelegram,
        }));
      },
    ]),
    [
      "telegram, auto: a 429 waited out (retry_after 2), then a stall: SMS within the 10 s deadline",
      async () => {
        await using tg = await startLinkedTelegram();
        await assertFault(telegramFault(tg, TELEGRAM_VARIANTS[0], {
          breakIt: () => {
            tg.tg.failNext("sendMessage", {
              error_code: 429,
              description: "Too Many Requests: retry after 2",
              retry_after: 2,
            });
            tg.tg.failNext("sendMessage", "stall");
          },
          counted: true,
          lastError: /^telegram timed out$/,
          withinMs: TELEGRAM_SEND_TIMEOUT_MS + SLACK_MS,
        }));
      },
    ],
  ];
  await Promise.all(steps.map(([name, fn]) => t.step({ name, fn, ...concurrent })));
});
