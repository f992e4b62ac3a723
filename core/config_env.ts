import { z } from "zod";
import { SETTING_RANGES } from "./settings.ts";

/*
 * The environment as read: one zod schema per variable, each parsed on its own so that every
 * problem is told at once in words naming its variable. `config.ts` turns it into a `Config`.
 */

const list = z.string().default("").transform((s) =>
  s.split(",").map((part) => part.trim()).filter((part) => part.length > 0)
);
const flag = z.enum(["true", "false", "1", "0", ""]).default("false").transform((s) =>
  s === "true" || s === "1"
);
const optional = z.string().trim().optional().transform((s) => (s ? s : undefined));
const url = z.url({ protocol: /^https?$/ });

/**
 * A whole number from `min` to `max`; unset or empty reads as undefined. Its problem is said in
 * words with the value given (a number is no secret), not as zod's "received NaN".
 */
function whole(min: number, max: number) {
  return z.string().optional().transform((s, ctx) => {
    const text = s?.trim() ?? "";
    if (text === "") return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      const given = text.length > 24 ? `${text.slice(0, 24)}…` : text;
      ctx.addIssue({
        code: "custom",
        message: `must be a whole number from ${min} to ${max}, not "${given}"`,
      });
      return z.NEVER;
    }
    return n;
  });
}

/** `whole`, with the value used when the variable is unset. */
function wholeOr(min: number, max: number, fallback: number) {
  return whole(min, max).transform((n) => n ?? fallback);
}

const settingsFromEnv = Object.fromEntries(
  Object.entries(SETTING_RANGES).map(([name, range]) => [
    name.toUpperCase(),
    whole(range.min, range.max),
  ]),
);

/** Every variable Doorman reads, with its default. */
export const envSchema = z.object({
  PORT: wholeOr(0, 65535, 8000),
  APP_ENV: z.enum(["development", "test", "production"]).default("development"),
  // It goes into subjects and headings: one line, no control characters.
  APP_NAME: z.string().trim().min(1, "must be 1-64 characters").max(64, "must be 1-64 characters")
    .regex(/^[^\p{Cc}\p{Zl}\p{Zp}]*$/u, "must be one line, without control characters")
    .default("Doorman"),
  KV_PATH: optional,
  JWT_SECRET: optional,
  PUBLIC_URL: url.default("http://localhost:8000").transform((s) => s.replace(/\/+$/, "")),
  TRUST_PROXY: flag,
  CORS_ORIGINS: list,
  ADMIN_PHONES: list,
  ADMIN_EMAILS: list,
  TELEGRAM_BOT_TOKEN: optional,
  // Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and - in the secret token.
  TELEGRAM_WEBHOOK_SECRET: z.string().regex(
    /^[A-Za-z0-9_-]{1,256}$/,
    "must be 1-256 of A-Z a-z 0-9 _ -",
  )
    .optional(),
  TELEGRAM_API_ROOT: url.default("https://api.telegram.org"),
  SMS_PROVIDER: z.enum(["twilio", "webhook", "console", "none"]).optional(),
  TWILIO_ACCOUNT_SID: optional,
  TWILIO_AUTH_TOKEN: optional,
  TWILIO_FROM: optional,
  TWILIO_API_ROOT: url.default("https://api.twilio.com"),
  SMS_WEBHOOK_URL: url.optional(),
  SMS_WEBHOOK_SECRET: optional,
  EMAIL_PROVIDER: z.enum(["smtp", "webhook", "console", "none"]).optional(),
  SMTP_URL: optional,
  EMAIL_FROM: optional,
  EMAIL_WEBHOOK_URL: url.optional(),
  EMAIL_WEBHOOK_SECRET: optional,
  OTP_VERIFY_FAILURES_PER_IP_PER_HOUR: wholeOr(1, 1_000_000, 100),
  OTP_TEST_RECIPIENTS: list,
  SMS_ALLOWED_COUNTRIES: list,
  SMS_PREFIX_LIMIT_PER_HOUR: wholeOr(1, 1_000_000, 30),
  SMS_PREFIX_AUTOBLOCK: z.enum(["true", "false", "1", "0", ""]).default("true").transform((s) =>
    s !== "false" && s !== "0"
  ),
  SMS_DAILY_LIMIT: whole(1, 100_000_000),
  TELEGRAM_GATEWAY_TOKEN: optional,
  TELEGRAM_GATEWAY_API_ROOT: url.default("https://gatewayapi.telegram.org"),
  METRICS_TOKEN: z.string().trim().min(16, "must be at least 16 characters").optional(),
  EVENT_WEBHOOK_URL: url.optional(),
  EVENT_WEBHOOK_SECRET: optional,
  EVENT_WEBHOOK_TYPES: list,
  ACCESS_TOKEN_TTL_SECONDS: wholeOr(60, 86_400, 900),
  ACCESS_TOKEN_ALG: z.enum(["ES256", "EdDSA"]).default("ES256"),
  SIGNING_KEY_PUBLISH_SECONDS: wholeOr(0, 86_400, 300),
  REFRESH_TOKEN_TTL_SECONDS: wholeOr(300, 31_536_000, 2_592_000),
  DEMO: flag,
  ...settingsFromEnv,
});

/** The environment as parsed. */
export type Env = z.infer<typeof envSchema>;

/**
 * Every variable parsed on its own, so one bad value hides no other: each problem goes to
 * `problems` in words naming its variable, and the variable takes its default meanwhile (so
 * the checks that follow still run and report theirs).
 */
export function parseEnv(env: Record<string, string | undefined>, problems: string[]): Env {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(envSchema.shape)) {
    const parsed = (schema as z.ZodType).safeParse(env[name]);
    if (parsed.success) {
      out[name] = parsed.data;
      continue;
    }
    for (const issue of parsed.error.issues) problems.push(`${name}: ${inWords(issue)}`);
    out[name] = (schema as z.ZodType).safeParse(undefined).data;
  }
  return out as Env;
}

/** A zod problem in plain words (the value is left out: it may be a secret). */
function inWords(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_value":
      return `must be one of ${issue.values.filter((v) => v !== "").join(", ")}`;
    case "invalid_format":
      return issue.format === "url" ? "must be an http:// or https:// URL" : issue.message;
    default:
      return issue.message;
  }
}
