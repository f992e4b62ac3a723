import { CONFLICT, retry } from "../../kv/retry.ts";
import { getStoredSettingsEntry, replaceStoredSettings } from "../../kv/settings.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { currentSettings, type Settings, settingsSchema } from "../settings.ts";

/** The settings in force, read from KV now (not through the one-second cache). */
export function readSettings(ctx: Services): Promise<Settings> {
  return currentSettings(ctx.kv, ctx.config.settings);
}

/**
 * Applies an admin's change of some settings: merged over the settings in force, checked as a
 * whole (400 `VALIDATION_FAILED` naming the field, nothing stored), stored as overrides of the
 * boot-time defaults, and in force on this instance at once (elsewhere within a second).
 * Returns every setting as it now is.
 */
export async function changeSettings(
  ctx: Services,
  patch: Partial<Settings>,
  options: { by: string },
): Promise<Settings> {
  const defaults = ctx.config.settings;
  return await retry("change the settings", async () => {
    const entry = await getStoredSettingsEntry(ctx.kv);
    const stored = entry.value ?? {};
    // A stored set that no longer fits is not in force (see currentSettings): not built on.
    const inForce = settingsSchema.safeParse({ ...defaults, ...stored }).success ? stored : {};
    // Only overrides are stored, so the unchanged settings keep following the env defaults.
    const overrides = { ...inForce, ...patch };
    const merged = { ...defaults, ...overrides };
    const checked = settingsSchema.safeParse(merged);
    if (!checked.success) {
      throw new AppError("VALIDATION_FAILED", "These settings do not fit together.", {
        details: checked.error.issues.map((issue) => ({
          path: issue.path.map(String).join(".") || "(body)",
          message: issue.message,
        })),
      });
    }
    if (Object.keys(patch).length === 0) return merged;
    if (!await replaceStoredSettings(ctx.kv, entry, overrides)) return CONFLICT;
    ctx.settings.invalidate();
    ctx.log.info("settings changed", { by: options.by, changed: patch });
    return merged;
  });
}
