import { CONFLICT, retry } from "../../kv/retry.ts";
import {
  addReplaceStoredSettings,
  getStoredSettingsEntry,
  type StoredSettings,
} from "../../kv/settings.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError } from "../errors.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";
import {
  currentSettings,
  SETTING_RANGES,
  type SettingName,
  type Settings,
  settingsSchema,
} from "../settings.ts";
import { type Actor, addAuditWrites, changesOf } from "./audit.ts";

/** The settings in force, read from KV now (not through the one-second cache). */
export function readSettings(ctx: Services): Promise<Settings> {
  return currentSettings(ctx.kv, ctx.config.settings);
}

/**
 * Applies an admin's change of some settings: merged over the settings in force, checked as a
 * whole (400 `VALIDATION_FAILED` naming the field, nothing stored), stored as overrides of the
 * boot-time defaults, and in force on this instance at once (elsewhere within a second).
 * Audited as `settings.update` (each changed setting before and after) in the same commit.
 * Returns every setting as it now is.
 */
export function changeSettings(
  ctx: Services,
  patch: Partial<Settings>,
  actor: Actor,
): Promise<Settings> {
  if (Object.keys(patch).length === 0) return readSettings(ctx);
  return storeOverrides(ctx, actor, (overrides) => ({ ...overrides, ...patch }));
}

/**
 * Puts one setting back to its boot-time default (`DELETE /api/v1/admin/settings/:name`): its
 * override is dropped, so it follows the environment again. Audited as `settings.update`.
 * 404 for a name that is no setting.
 */
export function resetSetting(ctx: Services, name: string, actor: Actor): Promise<Settings> {
  if (!isSettingName(name)) throw new AppError("NOT_FOUND", `No setting "${name}".`);
  return storeOverrides(ctx, actor, (overrides) => {
    const { [name]: _dropped, ...rest } = overrides;
    return rest;
  });
}

/** Whether `name` is one of the admin settings. */
export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(SETTING_RANGES, name);
}

/**
 * Replaces the stored overrides with `next(overrides in force)`, checked as a whole, with the
 * audit entry of what changed in the same commit.
 */
async function storeOverrides(
  ctx: Services,
  actor: Actor,
  next: (overrides: StoredSettings) => StoredSettings,
): Promise<Settings> {
  const defaults = ctx.config.settings;
  const done = await retry("change the settings", async () => {
    const entry = await getStoredSettingsEntry(ctx.kv);
    const stored = entry.value ?? {};
    // A stored set that no longer fits is not in force (see currentSettings): not built on.
    const fits = settingsSchema.safeParse({ ...defaults, ...stored }).success;
    const inForce = fits ? stored : {};
    const before = { ...defaults, ...inForce };
    // Only overrides are stored, so the unchanged settings keep following the env defaults.
    const overrides = next(inForce);
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
    const changes = changesOf(before, merged);
    const writes = addReplaceStoredSettings(new Writes(), entry, overrides);
    let audit: LiveEvent | null = null;
    if (Object.keys(changes).length > 0) {
      audit = addAuditWrites(ctx, writes, {
        actor,
        action: "settings.update",
        target: "settings",
        changes,
      });
    }
    if (!await ctx.commits.commit(writes)) return CONFLICT;
    return { merged: merged as Settings, audit, changes };
  });
  ctx.settings.invalidate();
  if (done.audit) ctx.bus.publish(done.audit);
  ctx.log.info("settings changed", { by: actor.userId, changed: done.changes });
  return done.merged;
}

/** One setting as the dashboard's configuration page shows it. */
export interface SettingView {
  value: number;
  /** The boot-time default (the environment's value, or the built-in one). */
  default: number;
  /** Whether an admin's override is in force. */
  overridden: boolean;
}

/** Each setting in force, its boot-time default, and whether an admin overrode it. */
export async function readSettingViews(ctx: Services): Promise<Record<SettingName, SettingView>> {
  const defaults = ctx.config.settings;
  const stored = (await getStoredSettingsEntry(ctx.kv)).value ?? {};
  const fits = settingsSchema.safeParse({ ...defaults, ...stored }).success;
  const out = {} as Record<SettingName, SettingView>;
  for (const name of Object.keys(SETTING_RANGES) as SettingName[]) {
    const override = fits ? stored[name] : undefined;
    out[name] = {
      value: override ?? defaults[name],
      default: defaults[name],
      overridden: override !== undefined,
    };
  }
  return out;
}
