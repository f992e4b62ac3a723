import { maskRecipient } from "../auth/recipients.ts";
import type { Services } from "../services.ts";
import type { SettingName } from "../settings.ts";
import { readSettingViews, type SettingView } from "./settings.ts";
import { maskUrl } from "./event_webhooks.ts";

/** `GET /api/v1/admin/config`: what Doorman runs with, never a secret, token or code. */
export interface AdminConfig {
  settings: Record<SettingName, SettingView>;
  boot: {
    app_env: string;
    public_url: string;
    /** Where KV lives, by kind only (a KV Connect URL is not shown). */
    kv: KvLocation;
    trust_proxy: boolean;
    providers: {
      sms: string;
      email: string;
      telegram_bot: boolean;
      telegram_gateway: boolean;
    };
    access_token_ttl_seconds: number;
    refresh_token_ttl_seconds: number;
    /** Bootstrap admins, masked like recipients in events. */
    admins: { phones: string[]; emails: string[] };
    sms_protection: {
      allowed_countries: string[];
      prefix_limit_per_hour: number;
      prefix_autoblock: boolean;
      daily_limit: number | null;
    };
    /** How many test recipients are configured (never who, never their codes). */
    test_recipients: number;
    /** Outbound events: where (masked), whether signed, which types; null when off. */
    event_webhook: { url: string; signed: boolean; types: string[] } | null;
  };
}

/** Kinds of KV location: a file, in memory, a KV Connect server, or the platform's own. */
export type KvLocation = "file" | "memory" | "kv_connect" | "platform";

function kvLocation(path: string | undefined): KvLocation {
  if (path === undefined) return "platform";
  if (path === ":memory:") return "memory";
  return /^https?:\/\//.test(path) ? "kv_connect" : "file";
}

/**
 * The configuration page's data: each admin setting with its default and whether it is
 * overridden, and the boot-time configuration that only the environment changes.
 */
export async function readAdminConfig(ctx: Services): Promise<AdminConfig> {
  const { config } = ctx;
  const sms = config.smsProtection;
  return {
    settings: await readSettingViews(ctx),
    boot: {
      app_env: config.appEnv,
      public_url: config.publicUrl,
      kv: kvLocation(config.kvPath),
      trust_proxy: config.trustProxy,
      providers: {
        sms: config.sms.provider,
        email: config.email.provider,
        telegram_bot: Boolean(config.telegram.botToken),
        telegram_gateway: config.telegramGateway !== null,
      },
      access_token_ttl_seconds: config.accessTokenTtlSeconds,
      refresh_token_ttl_seconds: config.refreshTokenTtlSeconds,
      admins: {
        phones: config.adminPhones.map((value) => maskRecipient({ kind: "phone", value })),
        emails: config.adminEmails.map((value) => maskRecipient({ kind: "email", value })),
      },
      sms_protection: {
        allowed_countries: sms.allowedCountries,
        prefix_limit_per_hour: sms.prefixLimitPerHour,
        prefix_autoblock: sms.prefixAutoblock,
        daily_limit: sms.dailyLimit,
      },
      test_recipients: config.testRecipients.size,
      event_webhook: config.eventWebhook && {
        url: maskUrl(config.eventWebhook.url),
        signed: Boolean(config.eventWebhook.secret),
        types: config.eventWebhook.types,
      },
    },
  };
}
