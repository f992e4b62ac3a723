import { keys } from "./keys.ts";
import type { AtomicWrites } from "./writes.ts";

/** A server API key as stored: never its secret, only the secret's SHA-256. */
export interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  /** The secret's first characters, so people can tell keys apart. */
  prefix: string;
  /** base64url SHA-256 of the secret. */
  hash: string;
  createdAt: number;
  /** The admin's user id. */
  createdBy: string;
  expiresAt: number | null;
}

/** Adds a new key (record and hash index) to a commit; fails it if either exists. */
export function addApiKey<W extends AtomicWrites>(w: W, key: ApiKey): W {
  return w
    .check({ key: keys.apiKey(key.id), versionstamp: null })
    .check({ key: keys.apiKeyByHash(key.hash), versionstamp: null })
    .set(keys.apiKey(key.id), key)
    .set(keys.apiKeyByHash(key.hash), key.id);
}

/** Adds a key's removal (record, hash index, last use) to a commit. */
export function addApiKeyRemoval<W extends AtomicWrites>(w: W, key: ApiKey): W {
  return w.delete(keys.apiKey(key.id)).delete(keys.apiKeyByHash(key.hash))
    .delete(keys.apiKeyUsed(key.id));
}

/** Adds a key's last use to a commit. */
export function addApiKeyUse<W extends AtomicWrites>(w: W, use: { id: string; at: number }): W {
  return w.set(keys.apiKeyUsed(use.id), use.at);
}

/** A key by id, with its versionstamp for a checked change. */
export function getApiKey(kv: Deno.Kv, id: string): Promise<Deno.KvEntryMaybe<ApiKey>> {
  return kv.get<ApiKey>(keys.apiKey(id));
}

/** The key whose secret hashes to `hash`, or null. */
export async function getApiKeyByHash(kv: Deno.Kv, hash: string): Promise<ApiKey | null> {
  const id = (await kv.get<string>(keys.apiKeyByHash(hash))).value;
  if (!id) return null;
  const key = (await kv.get<ApiKey>(keys.apiKey(id))).value;
  return key && key.hash === hash ? key : null;
}

/** Every key, oldest first, each with its last use (null: never used). */
export async function listApiKeys(
  kv: Deno.Kv,
): Promise<{ key: ApiKey; lastUsedAt: number | null }[]> {
  const list: ApiKey[] = [];
  for await (const entry of kv.list<ApiKey>({ prefix: keys.apiKeys() })) list.push(entry.value);
  const out: { key: ApiKey; lastUsedAt: number | null }[] = [];
  // getMany takes at most 10 keys.
  for (let i = 0; i < list.length; i += 10) {
    const batch = list.slice(i, i + 10);
    const uses = await kv.getMany<number[]>(batch.map((k) => keys.apiKeyUsed(k.id)));
    batch.forEach((key, n) => out.push({ key, lastUsedAt: uses[n].value ?? null }));
  }
  return out;
}
