import type { Settings } from "../core/settings.ts";
import { keys } from "./keys.ts";

/** The settings admins changed at run time (only the changed ones are stored). */
export async function getStoredSettings(kv: Deno.Kv): Promise<Partial<Settings>> {
  return (await getStoredSettingsEntry(kv)).value ?? {};
}

/** The stored overrides with their versionstamp, to replace them without losing a change. */
export function getStoredSettingsEntry(kv: Deno.Kv): Promise<Deno.KvEntryMaybe<Partial<Settings>>> {
  return kv.get<Partial<Settings>>(keys.settings());
}

/** Replaces the stored overrides if they are still `previous`; false when someone else won. */
export async function replaceStoredSettings(
  kv: Deno.Kv,
  previous: Deno.KvEntryMaybe<Partial<Settings>>,
  settings: Partial<Settings>,
): Promise<boolean> {
  return (await kv.atomic().check(previous).set(keys.settings(), settings).commit()).ok;
}
