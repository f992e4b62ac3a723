/** `/admin/settings`: every setting with its range and default, and the boot configuration. */
import { Hono } from "hono";
import { readAdminConfig } from "../../core/admin/config.ts";
import { SETTING_RANGES, type Settings } from "../../core/settings.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import { BootConfig } from "../../components/BootConfig.tsx";
import SettingsForm, { type SettingSpec } from "../../islands/SettingsForm.tsx";
import { adminPage } from "./_page.tsx";

/** What each setting means: label, help, unit. */
const SETTING_TEXT: Record<keyof typeof SETTING_RANGES, [string, string, string?]> = {
  otp_length: ["Code length", "Digits in each code", "digits"],
  otp_ttl_seconds: ["Code lifetime", "How long a code works", "s"],
  otp_max_attempts: ["Attempts per code", "Wrong tries before a code burns"],
  otp_resend_cooldown_seconds: ["Resend cooldown", "Wait between codes for one recipient", "s"],
  otp_rate_limit_per_hour: ["Codes per recipient", "Per phone or email, per rolling hour"],
  otp_ip_rate_limit_per_hour: ["Codes per IP", "Per client IP, per rolling hour"],
  telegram_autodelete_seconds: ["Telegram auto-delete", "A code message deletes itself after", "s"],
  presence_timeout_seconds: ["Presence timeout", "Offline after this long without activity", "s"],
  heartbeat_interval_seconds: ["Heartbeat interval", "What clients are told to use", "s"],
  presence_offline_grace_seconds: [
    "Offline grace",
    "Online this long after the last socket closes",
    "s",
  ],
};

/** The settings form over the values in force, and the read-only boot configuration. */
export const settingsPage = new Hono<AppEnv>()
  .get("/settings", async (c) => {
    // Read from KV now, not through the one-second cache: a reload right after a change shows it.
    const config = await readAdminConfig(c.get("ctx"));
    const names = Object.keys(SETTING_RANGES) as (keyof typeof SETTING_RANGES)[];
    const specs: SettingSpec[] = names.map((name) => {
      const [label, help, unit] = SETTING_TEXT[name];
      const { min, max } = SETTING_RANGES[name];
      return { name, label, help, unit, min, max, default: config.settings[name].default };
    });
    const settings = Object.fromEntries(names.map((name) => [name, config.settings[name].value]));
    const overridden = names.filter((name) => config.settings[name].overridden);
    return adminPage(
      c,
      { title: "Settings", path: "/admin/settings" },
      <>
        <p class="lead muted">
          Changes take effect at once, on every instance within a second. The keys access tokens are
          signed with are under <a href="/admin/signing-keys">Signing keys</a>.
        </p>
        <Island
          name="SettingsForm"
          component={SettingsForm}
          props={{ settings: settings as Settings, specs, overridden }}
        />
        <BootConfig boot={config.boot} />
      </>,
    );
  });
