import { keys } from "./keys.ts";
import type { AtomicWrites } from "./writes.ts";

/** Admin settings as stored: only the ones admins changed, by name. */
export type StoredSettings = Partial<Record<string, number>>;

/** The stored overrides with their versionstamp, to replace them without losing a change. */
export function getStoredSettingsEntry(kv: Deno.Kv): Promise<Deno.KvEntryMaybe<StoredSettings>> {
  return kv.get<StoredSettings>(keys.settings());
}

/** Adds the replacement of the stored overrides, if they are still `previous`, to a commit. */
export function addReplaceStoredSettings<W extends AtomicWrites>(
  w: W,
  previous: Deno.KvEntryMaybe<StoredSettings>,
  settings: StoredSettings,
): W {
  return w.check(previous).set(keys.settings(), settings);
}
