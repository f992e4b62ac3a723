/**
 * Each provider set up the way an operator configures it (environment variables, no injected
 * channels), with the secrets that must never show and a way to read the code a fake received.
 */
import { type FakeSmtp, type SmtpMessage, startFakeSmtp } from "../fakes/smtp.ts";
import { startFakeTelegram } from "../../fakes/telegram.ts";
import type { FakeTwilio } from "../fakes/twilio.ts";
import {
  PERSON,
  startTelegramHarness,
  type TelegramHarness,
  WEBHOOK_SECRET,
} from "../telegram/helpers.ts";
import { type Expected, type Fault, LIMIT_ENV } from "./scenario.ts";

// ---- Twilio

export const TWILIO_SID = "AC0123456789abcdef0123456789abcdef";
export const TWILIO_AUTH_TOKEN = "twilio-auth-token-5f1e9c";

/** The environment that selects Twilio. */
export function twilioEnv(apiRoot: string): Record<string, string> {
  return {
    SMS_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: TWILIO_SID,
    TWILIO_AUTH_TOKEN: TWILIO_AUTH_TOKEN,
    TWILIO_FROM: "+15005550006",
    TWILIO_API_ROOT: apiRoot,
  };
}

/** The auth token, alone or inside the Basic credentials. */
export const TWILIO_SECRETS = [TWILIO_AUTH_TOKEN, btoa(`${TWILIO_SID}:${TWILIO_AUTH_TOKEN}`)];

/** The code in the newest message Twilio created for `to`. */
export function twilioCode(twilio: FakeTwilio, to: string): string | undefined {
  return twilio.messages.findLast((m) => m.to === to)?.body.match(/code is (\d+)/)?.[1];
}

// ---- SMTP

const SMTP_USER = "doorman";
const SMTP_PASS = "smtp-pass-7c2d1e";

/** A fake server that wants a login. */
export function startSmtp(): FakeSmtp {
  return startFakeSmtp({ user: SMTP_USER, pass: SMTP_PASS });
}

/** The environment that selects SMTP. */
export function smtpEnv(smtp: FakeSmtp): Record<string, string> {
  return { EMAIL_PROVIDER: "smtp", SMTP_URL: smtp.url, EMAIL_FROM: "codes@example.com" };
}

/** The password, alone, in the URL, or as AUTH PLAIN sends it. */
export const SMTP_SECRETS = [
  SMTP_PASS,
  `${SMTP_USER}:${SMTP_PASS}`,
  btoa(`\u0000${SMTP_USER}\u0000${SMTP_PASS}`),
];

/** The code in the newest message to `to` the server received, answered or not. */
export function smtpCode(smtp: FakeSmtp, to: string): string | undefined {
  const all: SmtpMessage[] = [...smtp.messages, ...smtp.unanswered];
  return all.findLast((m) => m.to.includes(to))?.data.match(/code is (\d+)/)?.[1];
}

// ---- Telegram

/** grammY's deadline for one Bot API call (core/telegram/runtime.ts, SEND_TIMEOUT_S). */
export const TELEGRAM_SEND_TIMEOUT_MS = 10_000;
export const BOT_TOKEN = "7000000042:AAH-bot-token-secret-9f8e7d";
/** Linked to PERSON's chat. */
export const TELEGRAM_PHONE = "+14155550131";
/** Linked to OTHER's chat. */
export const TELEGRAM_WARMUP = "+14155550132";
const OTHER = { id: 5_000_000_002, first_name: "Grace" };

/** The token (and its secret half) and the webhook secret. */
export const TELEGRAM_SECRETS = [BOT_TOKEN, BOT_TOKEN.split(":")[1], WEBHOOK_SECRET];

/** A fake Bot API and a harness (limits of {@link LIMIT_ENV}) with two phones linked to chats. */
export async function startLinkedTelegram(): Promise<TelegramHarness> {
  const tg = startFakeTelegram({ token: BOT_TOKEN });
  const t = await startTelegramHarness({ tg, env: LIMIT_ENV });
  await t.share(TELEGRAM_PHONE);
  await t.share(TELEGRAM_WARMUP, { from: OTHER });
  return {
    ...t,
    async [Symbol.asyncDispose]() {
      await t[Symbol.asyncDispose]();
      await tg.close();
    },
  };
}

/** The two ways a linked phone asks, and what each must get when the bot cannot send. */
export const TELEGRAM_VARIANTS = [
  {
    name: "auto falls back to SMS",
    body: (phone: string) => ({ phone, channel: "auto" }),
    // Delivered by SMS: the attempt counts whatever Telegram did.
    expected: (_counted: boolean) => ({ status: 202, deliveredBy: "sms", counted: true }) as const,
  },
  {
    name: "telegram only is 503",
    body: (phone: string) => ({ phone, channel: "telegram" }),
    expected: (counted: boolean) => ({ status: 503, counted }) as const,
  },
];

/** A Telegram fault for one variant. */
export function telegramFault(
  t: TelegramHarness,
  variant: (typeof TELEGRAM_VARIANTS)[number],
  options: {
    breakIt: () => void;
    fixIt?: () => void;
    counted: boolean;
    lastError: RegExp;
    withinMs: number;
    atLeastMs?: number;
  },
): Fault {
  const expected: Expected = {
    ...variant.expected(options.counted),
    lastError: options.lastError,
    withinMs: options.withinMs,
    atLeastMs: options.atLeastMs,
  };
  return {
    h: t.h,
    channel: "telegram",
    body: variant.body,
    recipient: TELEGRAM_PHONE,
    warmup: TELEGRAM_WARMUP,
    breakIt: options.breakIt,
    fixIt: options.fixIt ?? (() => t.tg.clearFailures()),
    expected,
    secrets: TELEGRAM_SECRETS,
    codeSeen: () => t.lastCode(PERSON.id),
  };
}
