import type { OtpDelivery, StoredRequest } from "../../kv/otp_requests.ts";
import { TtlCache } from "../cache.ts";

/** Longest a code lives (`otp_ttl_seconds` is at most 600): no entry need outlive it. */
const TTL_MS = 600_000;
const MAX_ENTRIES = 50_000;

/**
 * The code requests this instance stored, as it stored them (with their versionstamp), so a
 * verify arriving here reads one round trip fewer. A stale copy is harmless: the verify's
 * commit checks the versionstamp, and a refused commit reads the request again.
 */
export class IssuedRequests {
  readonly #requests: TtlCache<StoredRequest>;

  /** `now` is the injected clock's. */
  constructor(now: () => number) {
    this.#requests = new TtlCache({ ttlMs: TTL_MS, maxEntries: MAX_ENTRIES, now });
  }

  remember(stored: StoredRequest): void {
    this.#requests.set(stored.entry.value.id, stored);
  }

  get(id: string): StoredRequest | undefined {
    return this.#requests.get(id);
  }

  /** Notes how a remembered request's code went out (its request entry is unchanged). */
  delivered(id: string, delivery: OtpDelivery): void {
    const stored = this.#requests.get(id);
    if (stored) this.#requests.set(id, { ...stored, delivery });
  }

  forget(id: string): void {
    this.#requests.delete(id);
  }
}
