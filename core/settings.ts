import { z } from "zod";
import { getStoredSettingsEntry } from "../kv/settings.ts";

/** The admin settings (README, "Limits"), each with its range and its default. */
export const SETTING_RANGES = {
  otp_length: { min: 4, max: 10, default: 6 },
  otp_ttl_seconds: { min: 2, max: 600, default: 300 },
  otp_max_attempts: { min: 1, max: 10, default: 5 },
  otp_resend_cooldown_seconds: { min: 0, max: 600, default: 60 },
  otp_rate_limit_per_hour: { min: 1, max: 1000, default: 5 },
  otp_ip_rate_limit_per_hour: { min: 1, max: 1_000_000, default: 30 },
  telegram_autodelete_seconds: { min: 5, max: 60, default: 30 },
  presence_timeout_seconds: { min: 2, max: 3600, default: 120 },
  heartbeat_interval_seconds: { min: 1, max: 600, default: 30 },
  presence_offline_grace_seconds: { min: 0, max: 60, default: 5 },
} as const;

/** Name of one admin setting. */
export type SettingName = keyof typeof SETTING_RANGES;

/** Every admin setting with its current value. */
export type Settings = { [K in SettingName]: number };

/** The built-in defaults of every setting. */
export const DEFAULT_SETTINGS: Settings = Object.fromEntries(
  Object.entries(SETTING_RANGES).map(([name, range]) => [name, range.default]),
) as Settings;

const shape = Object.fromEntries(
  Object.entries(SETTING_RANGES).map((
    [name, range],
  ) => [name, z.number().int().min(range.min).max(range.max)]),
) as { [K in SettingName]: z.ZodNumber };

/** A complete, consistent set of settings. */
export const settingsSchema = z.object(shape).strict().refine(
  (s) => s.heartbeat_interval_seconds < s.presence_timeout_seconds,
  {
    path: ["heartbeat_interval_seconds"],
    message: "must be below presence_timeout_seconds",
  },
);

/** A partial update of the settings (PUT accepts any subset). */
export const settingsPatchSchema = z.object(shape).partial().strict();

/** The settings in force: the stored admin overrides over the boot-time defaults. */
export async function currentSettings(kv: Deno.Kv, defaults: Settings): Promise<Settings> {
  const merged = { ...defaults, ...(await getStoredSettingsEntry(kv)).value };
  // A stored set that no longer fits (ranges changed between versions) falls back whole.
  return settingsSchema.safeParse(merged).success ? merged : defaults;
}

/**
 * The settings in force, read from KV at most once a second per process, so hot paths
 * (heartbeats) do not pay a read each; a change made here is seen at once, elsewhere within 1 s.
 */
export class SettingsCache {
  #value: Promise<Settings> | null = null;
  #readAt = -Infinity;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly defaults: Settings,
    private readonly now: () => number,
  ) {}

  /** The current settings. */
  get(): Promise<Settings> {
    const now = this.now();
    if (!this.#value || now - this.#readAt >= 1000 || now < this.#readAt) {
      this.#readAt = now;
      this.#value = currentSettings(this.kv, this.defaults).catch((error) => {
        this.#value = null;
        throw error;
      });
    }
    return this.#value;
  }

  /** Forgets the cached value (after this process changed the settings). */
  invalidate(): void {
    this.#value = null;
  }
}
