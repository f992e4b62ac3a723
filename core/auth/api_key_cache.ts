import { addApiKeyUse, type ApiKey, getApiKeyByHash } from "../../kv/api_keys.ts";
import { Writes } from "../../kv/writes.ts";
import { TtlCache } from "../cache.ts";
import type { EventBus } from "../live/events.ts";

/** How stale a cached API key may be on any instance, at most (as sign-ins: a second). */
export const API_KEY_CACHE_TTL_MS = 1_000;
/** A key's last use is written at most this often (per key, per instance). */
export const API_KEY_USE_INTERVAL_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * API keys as authentication reads them, by the hash of their secret, kept for at most a
 * second (unknown hashes too, so a flood of bad keys costs no read each). The instance that
 * revokes a key drops every entry at once; the others do when the `api_key.revoke` audit event
 * reaches them through the event tail, and within a second regardless. It also notes each
 * key's last use, written at most once a minute per key (never a write per request).
 */
export class ApiKeyCache {
  readonly #keys: TtlCache<ApiKey | null>;
  /** Key id → the last use written (or being written). */
  readonly #written = new Map<string, number>();

  constructor(
    private readonly kv: Deno.Kv,
    now: () => number,
    private readonly commit: (writes: Writes) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {
    this.#keys = new TtlCache({ ttlMs: API_KEY_CACHE_TTL_MS, maxEntries: MAX_ENTRIES, now });
  }

  /** The key whose secret hashes to `hash`, or null. */
  byHash(hash: string): Promise<ApiKey | null> {
    return this.#keys.through(hash, () => getApiKeyByHash(this.kv, hash));
  }

  /** Forgets every key: revocations are rare, and a key's id is not what the cache is keyed by. */
  forgetAll(): void {
    this.#keys.clear();
  }

  /** Notes that key `id` was used at `at`; costs one write only once a minute per key. */
  used(id: string, at: number): void {
    const written = this.#written.get(id);
    if (written !== undefined && at - written < API_KEY_USE_INTERVAL_MS) return;
    this.#written.set(id, at);
    if (this.#written.size > MAX_ENTRIES) this.#written.delete(this.#written.keys().next().value!);
    this.commit(addApiKeyUse(new Writes(), { id, at })).catch(this.onError);
  }

  /** Drops what other instances' revocations say changed; returns the unsubscribe. */
  follow(bus: EventBus): () => void {
    return bus.subscribe((event) => {
      if (event.instance === bus.instance) return;
      if (event.data.type === "api_key.revoke") this.forgetAll();
    });
  }
}
