import { importJWK, type JWK } from "jose";
import { errorOf } from "./errors.ts";

/** How the key set is fetched and when it counts as stale. */
export interface JwksOptions {
  /** The JWKS address: `<baseUrl>/.well-known/jwks.json`. */
  url: string;
  /** The platform's `fetch`, or a stand-in. */
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  /** The clock, in ms. */
  now: () => number;
}

/** Used when the answer names no `max-age`: the server's own (README, "Verify Doorman tokens in your backend"). */
const DEFAULT_MAX_AGE_MS = 300_000;
/**
 * Unknown kids refetch at most this often: a rotated key is published 300 s before it signs,
 * so an unknown kid is almost always a forged token, and forged tokens must not turn this
 * backend into a load generator against Doorman.
 */
const UNKNOWN_KID_COOLDOWN_MS = 10_000;
const ALGS = new Set(["ES256", "EdDSA"]);

/** A published key, ready to verify with, and the algorithm it signs with. */
export type PublishedKey = { alg: string; key: CryptoKey | Uint8Array };

/**
 * Doorman's public signing keys, fetched once and kept for the answer's `max-age`; a token
 * whose `kid` is not among them makes one refetch (shared by every caller waiting, and at most
 * one per 10 s), after which the kid is refused.
 */
export class JwksCache {
  readonly #options: JwksOptions;
  #keys = new Map<string, PublishedKey>();
  #staleAt = -Infinity;
  #unknownRefetchAt = -Infinity;
  #loading: Promise<void> | null = null;

  /** A cache that has fetched nothing yet. */
  constructor(options: JwksOptions) {
    this.#options = options;
  }

  /** The key `kid` names, or null when Doorman does not publish it (after one refetch). */
  async key(kid: string): Promise<PublishedKey | null> {
    if (this.#options.now() >= this.#staleAt) await this.#load();
    const known = this.#keys.get(kid);
    if (known) return known;
    const now = this.#options.now();
    if (this.#loading) await this.#loading;
    else if (now - this.#unknownRefetchAt >= UNKNOWN_KID_COOLDOWN_MS) {
      this.#unknownRefetchAt = now;
      await this.#load();
    }
    return this.#keys.get(kid) ?? null;
  }

  #load(): Promise<void> {
    this.#loading ??= this.#fetch().finally(() => this.#loading = null);
    return this.#loading;
  }

  async #fetch(): Promise<void> {
    const res = await this.#options.fetch(this.#options.url, {
      headers: { accept: "application/json" },
    });
    if (!res.ok) throw await errorOf(res);
    const body = await res.json() as { keys?: JWK[] };
    const keys = new Map<string, PublishedKey>();
    for (const jwk of Array.isArray(body?.keys) ? body.keys : []) {
      // Only signing keys of the algorithms Doorman uses; a private part is never trusted.
      if (typeof jwk.kid !== "string" || !ALGS.has(jwk.alg ?? "") || "d" in jwk) continue;
      if (jwk.use !== undefined && jwk.use !== "sig") continue;
      keys.set(jwk.kid, { alg: jwk.alg!, key: await importJWK(jwk, jwk.alg) });
    }
    this.#keys = keys;
    this.#staleAt = this.#options.now() + maxAgeOf(res.headers.get("cache-control"));
  }
}

function maxAgeOf(header: string | null): number {
  const match = header?.match(/(?:^|,)\s*max-age=(\d+)/i);
  return match ? Number(match[1]) * 1000 : DEFAULT_MAX_AGE_MS;
}
