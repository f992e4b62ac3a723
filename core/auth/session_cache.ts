import { getSession, getSessions, type Session } from "../../kv/sessions.ts";
import { getUser, getUsers, type User } from "../../kv/users.ts";
import { TtlCache } from "../cache.ts";
import type { EventBus } from "../live/events.ts";

/** How stale a cached sign-in or user may be on any instance, at most. */
export const SESSION_CACHE_TTL_MS = 1_000;
const MAX_ENTRIES = 100_000;

/**
 * What every authenticated request would read — is the sign-in revoked, is the user active —
 * kept in process for at most a second. The instance that revokes a sign-in or changes a
 * user drops its copy at once; the others drop theirs when the `user.signed_out`,
 * `user.updated` or `user.deleted` event reaches them through the event tail, and within a
 * second regardless.
 */
export class SessionCache {
  readonly #kv: Deno.Kv;
  readonly #families = new TtlCache<Session | null>({
    ttlMs: SESSION_CACHE_TTL_MS,
    maxEntries: MAX_ENTRIES,
    now: () => this.#now(),
  });
  readonly #users = new TtlCache<User | null>({
    ttlMs: SESSION_CACHE_TTL_MS,
    maxEntries: MAX_ENTRIES,
    now: () => this.#now(),
  });

  readonly #now: () => number;

  /** `now` is the injected clock's. */
  constructor(kv: Deno.Kv, now: () => number) {
    this.#kv = kv;
    this.#now = now;
  }

  /** A sign-in (refresh family) by id, or null when there is none. */
  family(id: string): Promise<Session | null> {
    return this.#families.through(id, async () => (await getSession(this.#kv, id)).value);
  }

  /** Many sign-ins by id, in their order (null for an unknown id), missing ones read in batches. */
  families(ids: string[]): Promise<(Session | null)[]> {
    return this.#families.many(ids, (missing) => getSessions(this.#kv, missing), null);
  }

  /** A user by id, or null when there is none. */
  user(id: string): Promise<User | null> {
    return this.#users.through(id, () => getUser(this.#kv, id));
  }

  /** Many users by id, in their order (null for an unknown id), missing ones read in one batch. */
  users(ids: readonly string[]): Promise<(User | null)[]> {
    return this.#users.many(ids, (missing) => getUsers(this.#kv, missing), null);
  }

  /** Remembers a sign-in this instance just opened. */
  rememberSession(family: Session): void {
    this.#families.set(family.id, family);
  }

  /** Remembers a user as this instance just wrote it. */
  rememberUser(user: User): void {
    this.#users.set(user.id, user);
  }

  /** Forgets a sign-in this instance just revoked or changed. */
  forgetSession(id: string): void {
    this.#families.delete(id);
  }

  /** Forgets a user this instance just changed. */
  forgetUser(id: string): void {
    this.#users.delete(id);
  }

  /** Drops what other instances' events say changed; returns the unsubscribe. */
  follow(bus: EventBus): () => void {
    return bus.subscribe((event) => {
      if (event.instance === bus.instance) return;
      const data = event.data;
      if (data.type === "user.signed_out" && typeof data.family_id === "string") {
        this.forgetSession(data.family_id);
      } else if (
        (data.type === "user.updated" || data.type === "user.deleted" ||
          data.type === "user.contact_changed") &&
        typeof data.user_id === "string"
      ) {
        this.forgetUser(data.user_id);
      }
    });
  }
}
