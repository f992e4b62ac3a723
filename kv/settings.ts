import type { Settings } from "../core/settings.ts";
import { keys } from "./keys.ts";

/** The settings admins changed at run time (only the changed ones are stored). */
export async function getStoredSettings(kv: Deno.Kv): Promise<Partial<Settings>> {
  return (await kv.get<Partial<Settings>>(keys.settings())).value ?? {};
}

/** Replaces the stored overrides. */
export async function setStoredSettings(kv: Deno.Kv, settings: Partial<Settings>): Promise<void> {
  await kv.set(keys.settings(), settings);
}
