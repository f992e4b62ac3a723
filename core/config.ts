import { isKvConnectUrl } from "../kv/open.ts";
import { normalizeEmail, normalizePhone } from "./auth/recipients.ts";
import { DEFAULT_SETTINGS, SETTING_RANGES, type Settings, settingsSchema } from "./settings.ts";
import { type Env, parseEnv } from "./config_env.ts";

/** SMS delivery settings. */
export type SmsConfig =
  | { provider: "none" | "console" }
  | { provider: "webhook"; url: string; secret?: string }
  | { provider: "twilio"; accountSid: string; authToken: string; from: string; apiRoot: string };

/** Email delivery settings. */
export type EmailConfig =
  | { provider: "none" | "console" }
  | { provider: "webhook"; url: string; secret?: string }
  | { provider: "smtp"; url: string; from: string };

/** Where events go out (README, "Receiving events"). */
export interface EventWebhookConfig {
  url: string;
  /** Signs every delivery; required in production. */
  secret?: string;
  /** Event types that go out (`*` ends a prefix); empty: every type. */
  types: string[];
}

/** Everything Doorman reads from its environment, validated and typed. */
export interface Config {
  port: number;
  appEnv: "development" | "test" | "production";
  /** The product name in messages (`APP_NAME`). */
  appName: string;
  /** A file path, `:memory:`, a KV Connect URL, or undefined for the platform default. */
  kvPath?: string;
  /** Master secret (encrypts signing keys, checks legacy HS256 tokens); undefined in development means "generate once and keep it in KV". */
  jwtSecret?: string;
  publicUrl: string;
  trustProxy: boolean;
  corsOrigins: string[];
  adminPhones: string[];
  adminEmails: string[];
  telegram: { botToken?: string; webhookSecret?: string; apiRoot: string };
  sms: SmsConfig;
  email: EmailConfig;
  accessTokenTtlSeconds: number;
  /** Algorithm of new signing keys (`ACCESS_TOKEN_ALG`). */
  accessTokenAlg: "ES256" | "EdDSA";
  /** How long a standby key is published before it may sign (`SIGNING_KEY_PUBLISH_SECONDS`). */
  signingKeyPublishSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Wrong codes one client IP may send per rolling hour, across requests. */
  verifyFailuresPerIpPerHour: number;
  /** Bearer token `/metrics` asks for; without one it is open outside production only. */
  metricsToken?: string;
  /** SMS pumping protection (README, "Protecting an SMS budget"). */
  smsProtection: SmsProtection;
  /** Fixed codes of test recipients, by canonical recipient key (`phone:+1…`, `email:…`). */
  testRecipients: Map<string, string>;
  /** Telegram Gateway API (verification codes to any phone on Telegram); null when unset. */
  telegramGateway: { token: string; apiRoot: string } | null;
  /** Outbound event webhook; null when `EVENT_WEBHOOK_URL` is unset. */
  eventWebhook: EventWebhookConfig | null;
  /** Boot-time defaults of the admin settings (admins may override them at run time). */
  settings: Settings;
  /** `deno task demo` runs (development only): it prints the dashboard links itself. */
  demo: boolean;
}

/** What keeps SMS pumping from spending the SMS budget. */
export interface SmsProtection {
  /** ISO 3166 alpha-2 codes SMS may go to; empty: every country. */
  allowedCountries: string[];
  /** SMS per number range (country code + 3 digits) per rolling hour. */
  prefixLimitPerHour: number;
  /** Whether a range with many codes sent and few used is blocked for 24 h. */
  prefixAutoblock: boolean;
  /** SMS per UTC day, all recipients; null: no cap. */
  dailyLimit: number | null;
}

/** An event type (`otp.verified`), a prefix of types (`presence.*`, `otp*`) or `*`. */
const EVENT_TYPE_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.?\*)?)$/;

/** At most this many test recipients. */
const MAX_TEST_RECIPIENTS = 20;

/** A configuration Doorman refuses to start with; the message names every problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** Reads the configuration from environment variables; throws `ConfigError` when unsafe. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const e = parseEnv(env, problems);
  const production = e.APP_ENV === "production";
  const development = e.APP_ENV === "development";
  // The demo's link signs anyone who has it in as an admin.
  if (e.DEMO && !development) problems.push("DEMO: only with APP_ENV=development");

  const sms = smsConfig(e, development ? "console" : "none", problems);
  const email = emailConfig(e, development ? "console" : "none", problems);

  if (e.JWT_SECRET !== undefined && new TextEncoder().encode(e.JWT_SECRET).length < 32) {
    problems.push("JWT_SECRET: must be at least 32 bytes");
  }
  // Deno reads the token itself, and would take any other "scheme://" for a file name.
  const kvPath = e.KV_PATH ?? "";
  if (isKvConnectUrl(kvPath)) {
    if (!URL.canParse(kvPath)) problems.push("KV_PATH: not a valid KV Connect URL");
    if (!env.DENO_KV_ACCESS_TOKEN?.trim()) {
      problems.push("DENO_KV_ACCESS_TOKEN: required with a KV Connect URL in KV_PATH");
    }
  } else if (kvPath.includes("://")) {
    problems.push("KV_PATH: a KV Connect URL starts with http:// or https://");
  }
  if (production) {
    if (e.JWT_SECRET === undefined) problems.push("JWT_SECRET: required in production");
    if (sms.provider === "console") problems.push("SMS_PROVIDER=console is refused in production");
    if (email.provider === "console") {
      problems.push("EMAIL_PROVIDER=console is refused in production");
    }
    if (e.TELEGRAM_BOT_TOKEN && !e.TELEGRAM_WEBHOOK_SECRET) {
      problems.push("TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_BOT_TOKEN in production");
    }
    // Unsigned webhooks would let anyone who finds the receiver send messages as Doorman.
    if (sms.provider === "webhook" && !sms.secret) {
      problems.push("SMS_WEBHOOK_SECRET: required with SMS_PROVIDER=webhook in production");
    }
    if (email.provider === "webhook" && !email.secret) {
      problems.push("EMAIL_WEBHOOK_SECRET: required with EMAIL_PROVIDER=webhook in production");
    }
    // Receivers could not tell Doorman's events from anyone's.
    if (e.EVENT_WEBHOOK_URL && !e.EVENT_WEBHOOK_SECRET) {
      problems.push("EVENT_WEBHOOK_SECRET: required with EVENT_WEBHOOK_URL in production");
    }
  }

  const adminPhones = e.ADMIN_PHONES.map((phone) => {
    const canonical = normalizePhone(phone);
    if (!canonical) problems.push(`ADMIN_PHONES: "${phone}" is not an E.164 phone number`);
    return canonical ?? "";
  });
  const adminEmails = e.ADMIN_EMAILS.map((email) => {
    const canonical = normalizeEmail(email);
    if (!canonical) problems.push(`ADMIN_EMAILS: "${email}" is not an email address`);
    return canonical ?? "";
  });

  const settings = { ...DEFAULT_SETTINGS };
  for (const name of Object.keys(SETTING_RANGES) as (keyof Settings)[]) {
    const value = (e as Record<string, unknown>)[name.toUpperCase()];
    if (typeof value === "number") settings[name] = value;
  }
  // Each value is in its range (checked above): what is left is how they fit together.
  if (!settingsSchema.safeParse(settings).success) {
    problems.push(
      `HEARTBEAT_INTERVAL_SECONDS: must be below presence_timeout_seconds ` +
        `(PRESENCE_TIMEOUT_SECONDS, ${settings.presence_timeout_seconds} here)`,
    );
  }

  const allowedCountries = e.SMS_ALLOWED_COUNTRIES.map((code) => code.toUpperCase());
  for (const code of allowedCountries) {
    if (!/^[A-Z]{2}$/.test(code)) {
      problems.push(`SMS_ALLOWED_COUNTRIES: "${code}" is not an ISO 3166 alpha-2 code`);
    }
  }
  const testRecipients = parseTestRecipients(e.OTP_TEST_RECIPIENTS, problems);
  // A test recipient's fixed code would sign anyone who knows it in as an admin.
  for (
    const [list, admins, kind] of [
      ["ADMIN_PHONES", adminPhones, "phone"],
      ["ADMIN_EMAILS", adminEmails, "email"],
    ] as const
  ) {
    for (const admin of admins) {
      if (admin && testRecipients.has(`${kind}:${admin}`)) {
        problems.push(
          `OTP_TEST_RECIPIENTS: "${admin}" is also in ${list}; a test recipient cannot be an admin`,
        );
      }
    }
  }
  for (const type of e.EVENT_WEBHOOK_TYPES) {
    if (!EVENT_TYPE_PATTERN.test(type)) {
      problems.push(
        `EVENT_WEBHOOK_TYPES: "${type}" is not an event type (otp.verified) or prefix (presence.*)`,
      );
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: e.PORT,
    appEnv: e.APP_ENV,
    appName: e.APP_NAME,
    // On Deno Deploy `Deno.openKv()` without a path opens the project's own KV.
    kvPath: e.KV_PATH ?? (env.DENO_DEPLOYMENT_ID ? undefined : "./data/kv.sqlite"),
    jwtSecret: e.JWT_SECRET,
    publicUrl: e.PUBLIC_URL,
    trustProxy: e.TRUST_PROXY,
    corsOrigins: e.CORS_ORIGINS,
    adminPhones,
    adminEmails,
    telegram: {
      botToken: e.TELEGRAM_BOT_TOKEN,
      webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
      apiRoot: e.TELEGRAM_API_ROOT.replace(/\/+$/, ""),
    },
    sms,
    email,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    accessTokenAlg: e.ACCESS_TOKEN_ALG,
    signingKeyPublishSeconds: e.SIGNING_KEY_PUBLISH_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    verifyFailuresPerIpPerHour: e.OTP_VERIFY_FAILURES_PER_IP_PER_HOUR,
    metricsToken: e.METRICS_TOKEN,
    smsProtection: {
      allowedCountries,
      prefixLimitPerHour: e.SMS_PREFIX_LIMIT_PER_HOUR,
      prefixAutoblock: e.SMS_PREFIX_AUTOBLOCK,
      dailyLimit: e.SMS_DAILY_LIMIT ?? null,
    },
    testRecipients,
    telegramGateway: e.TELEGRAM_GATEWAY_TOKEN
      ? {
        token: e.TELEGRAM_GATEWAY_TOKEN,
        apiRoot: e.TELEGRAM_GATEWAY_API_ROOT.replace(/\/+$/, ""),
      }
      : null,
    eventWebhook: e.EVENT_WEBHOOK_URL
      ? { url: e.EVENT_WEBHOOK_URL, secret: e.EVENT_WEBHOOK_SECRET, types: e.EVENT_WEBHOOK_TYPES }
      : null,
    settings,
    demo: e.DEMO,
  };
}

/**
 * `OTP_TEST_RECIPIENTS`: `recipient=code` pairs; a phone or email (canonical form) and 6–10
 * digits (a fixed code never changes: fewer digits are too few guesses). The map is keyed
 * like stored recipients (`phone:+1…`, `email:…`).
 */
function parseTestRecipients(pairs: string[], problems: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (pairs.length > MAX_TEST_RECIPIENTS) {
    problems.push(`OTP_TEST_RECIPIENTS: at most ${MAX_TEST_RECIPIENTS} recipients`);
  }
  for (const pair of pairs.slice(0, MAX_TEST_RECIPIENTS)) {
    const at = pair.lastIndexOf("=");
    const who = pair.slice(0, Math.max(0, at)).trim();
    const code = pair.slice(at + 1).trim();
    const phone = who.startsWith("+") ? normalizePhone(who) : null;
    const email = phone ? null : normalizeEmail(who);
    if (at < 1 || (!phone && !email)) {
      problems.push(`OTP_TEST_RECIPIENTS: "${who || pair}" is not a phone (+…) or email address`);
      continue;
    }
    if (!/^\d{6,10}$/.test(code)) {
      // The pair names the recipient only: the code is a secret of sorts.
      problems.push(`OTP_TEST_RECIPIENTS: the code of "${who}" must be 6-10 digits`);
      continue;
    }
    out.set(phone ? `phone:${phone}` : `email:${email}`, code);
  }
  return out;
}

function smsConfig(e: Env, fallback: "console" | "none", problems: string[]): SmsConfig {
  const provider = e.SMS_PROVIDER ?? fallback;
  switch (provider) {
    case "webhook":
      if (!e.SMS_WEBHOOK_URL) {
        problems.push("SMS_WEBHOOK_URL: required with SMS_PROVIDER=webhook");
        return { provider: "none" };
      }
      return { provider, url: e.SMS_WEBHOOK_URL, secret: e.SMS_WEBHOOK_SECRET };
    case "twilio": {
      const missing = (["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"] as const)
        .filter((name) => !e[name]);
      for (const name of missing) problems.push(`${name}: required with SMS_PROVIDER=twilio`);
      if (missing.length > 0) return { provider: "none" };
      return {
        provider,
        accountSid: e.TWILIO_ACCOUNT_SID!,
        authToken: e.TWILIO_AUTH_TOKEN!,
        from: e.TWILIO_FROM!,
        apiRoot: e.TWILIO_API_ROOT.replace(/\/+$/, ""),
      };
    }
    default:
      return { provider };
  }
}

function emailConfig(e: Env, fallback: "console" | "none", problems: string[]): EmailConfig {
  const provider = e.EMAIL_PROVIDER ?? fallback;
  switch (provider) {
    case "webhook":
      if (!e.EMAIL_WEBHOOK_URL) {
        problems.push("EMAIL_WEBHOOK_URL: required with EMAIL_PROVIDER=webhook");
        return { provider: "none" };
      }
      return { provider, url: e.EMAIL_WEBHOOK_URL, secret: e.EMAIL_WEBHOOK_SECRET };
    case "smtp": {
      const missing = (["SMTP_URL", "EMAIL_FROM"] as const).filter((name) => !e[name]);
      for (const name of missing) problems.push(`${name}: required with EMAIL_PROVIDER=smtp`);
      if (missing.length > 0) return { provider: "none" };
      let url: URL | null = null;
      try {
        url = new URL(e.SMTP_URL!);
      } catch {
        // Reported below.
      }
      if (!url || (url.protocol !== "smtp:" && url.protocol !== "smtps:") || !url.hostname) {
        problems.push("SMTP_URL: must look like smtp://user:pass@host:587 or smtps://…:465");
        return { provider: "none" };
      }
      return { provider, url: e.SMTP_URL!, from: e.EMAIL_FROM! };
    }
    default:
      return { provider };
  }
}
