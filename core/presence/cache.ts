import { type PresenceRecord, readPresence, readPresenceMany } from "../../kv/presence.ts";
import { getUserWithPresence, type User } from "../../kv/users.ts";
import { TtlCache } from "../cache.ts";
import type { EventBus } from "../live/events.ts";

/** How stale a cached presence record may be, at most. */
export const PRESENCE_CACHE_TTL_MS = 1_000;
const MAX_ENTRIES = 200_000;

/**
 * Users' presence records as this instance last read or wrote them, for at most a second:
 * a heartbeat of a user already recorded online, or a query of who is online, reads nothing.
 * Transitions made here update the copy with their versionstamp; transitions on other
 * instances arrive as events and drop it. Activity recorded elsewhere shows within a second.
 */
export class PresenceCache {
  readonly #kv: Deno.Kv;
  readonly #records = new TtlCache<PresenceRecord>({
    ttlMs: PRESENCE_CACHE_TTL_MS,
    maxEntries: MAX_ENTRIES,
    now: () => this.#now(),
  });

  readonly #now: () => number;

  /** `now` is the injected clock's. */
  constructor(kv: Deno.Kv, now: () => number) {
    this.#kv = kv;
    this.#now = now;
  }

  /** A user's record, read through the cache. */
  get(userId: string): Promise<PresenceRecord> {
    return this.#records.through(userId, () => readPresence(this.#kv, userId));
  }

  /** A user's record read from KV now (before a transition decides anything). */
  async fresh(userId: string): Promise<PresenceRecord> {
    const record = await readPresence(this.#kv, userId);
    this.#records.set(userId, record);
    return record;
  }

  /** A user's record and account read from KV now, in one round trip (before a transition). */
  async freshWithUser(
    userId: string,
  ): Promise<{ record: PresenceRecord; user: Deno.KvEntryMaybe<User> }> {
    const { user, presence } = await getUserWithPresence(this.#kv, userId);
    this.#records.set(userId, presence);
    return { record: presence, user };
  }

  /** Many users' records, in their order (empty for an unknown user), missing ones read in batches. */
  many(userIds: readonly string[]): Promise<PresenceRecord[]> {
    return this.#records.many(userIds, (missing) => readPresenceMany(this.#kv, missing), EMPTY);
  }

  /** Remembers a record this instance just wrote. */
  remember(userId: string, record: PresenceRecord): void {
    this.#records.set(userId, record);
  }

  /** Forgets a user's record (changed elsewhere, or a write of ours failed). */
  forget(userId: string): void {
    this.#records.delete(userId);
  }

  /** Drops records other instances' presence events (or erasures) changed; returns the unsubscribe. */
  follow(bus: EventBus): () => void {
    return bus.subscribe((event) => {
      if (event.instance === bus.instance) return;
      if (event.kind !== "presence" && event.data.type !== "user.deleted") return;
      if (typeof event.data.user_id === "string") this.forget(event.data.user_id);
    });
  }
}

const EMPTY: PresenceRecord = {
  seen: null,
  seenEntry: { key: [], value: null, versionstamp: null },
  heartbeat: null,
  state: { key: [], value: null, versionstamp: null },
  dueMinute: null,
};
