import { getPresenceContactsMany, getUserAndPresenceContacts } from "../../kv/presence_contacts.ts";
import type { User } from "../../kv/users.ts";
import type { SessionCache } from "../auth/session_cache.ts";
import { TtlCache } from "../cache.ts";
import type { EventBus } from "../live/events.ts";

/*
 * Who sees whom (README, "Who sees you online"): a user's `presence_visibility` lives in their user record, which
 * every presence read has from the session cache already; only users with `contacts` need
 * their contact set, kept here. Users with `everyone` cost one field check.
 */

/**
 * The event of a change of a user's visibility or presence contacts (kind `user`): it drops
 * the cached copies on every instance and makes each instance's sockets re-decide who sees.
 */
export const SIGHT_CHANGED = "user.presence_visibility_changed";

/** How stale a cached contact set may be, at most, if its change event were lost. */
export const CONTACTS_CACHE_TTL_MS = 5_000;
/** Contact sets hold up to 1,000 ids each: fewer of them than of user records. */
const MAX_ENTRIES = 20_000;

/** Who asks: a user, or an admin or `presence:read` key (who see everyone). */
export type Viewer = { all: true } | { all: false; userId: string };

/** A viewer who sees everyone (admins, `presence:read` keys, internal reads). */
export const SEES_ALL: Viewer = { all: true };

const NO_CONTACTS: ReadonlySet<string> = new Set();

/** Whether `viewerId` may see `user`'s presence, given the user's contact set. */
export function sees(user: User, contacts: ReadonlySet<string>, viewerId: string): boolean {
  const visibility = user.presenceVisibility ?? "everyone";
  if (visibility === "everyone" || user.id === viewerId) return true;
  return visibility === "contacts" && contacts.has(viewerId);
}

/**
 * Presence contacts as this instance last read or wrote them, for at most a few seconds
 * (filled in batches on a miss); the instance that changes a user's sight drops and rewrites
 * its copies at once, the others drop theirs on the `SIGHT_CHANGED` event from the tail.
 */
export class VisibilityCache {
  readonly #kv: Deno.Kv;
  readonly #users: SessionCache;
  readonly #now: () => number;
  readonly #contacts = new TtlCache<ReadonlySet<string>>({
    ttlMs: CONTACTS_CACHE_TTL_MS,
    maxEntries: MAX_ENTRIES,
    now: () => this.#now(),
  });

  /** `users` is the session cache (the user records carry the visibility). */
  constructor(kv: Deno.Kv, users: SessionCache, now: () => number) {
    this.#kv = kv;
    this.#users = users;
    this.#now = now;
  }

  /**
   * For each of `users` (in their order; null for an unknown id), whether `viewer` may not
   * see them; null when every one may be seen (the common case allocates nothing).
   */
  async hiddenOf(viewer: Viewer, users: (User | null)[]): Promise<boolean[] | null> {
    if (viewer.all) return null;
    let hidden: boolean[] | null = null;
    let ask: number[] | null = null;
    for (let i = 0; i < users.length; i++) {
      const visibility = users[i]?.presenceVisibility;
      if (visibility === undefined || visibility === "everyone") continue;
      if (users[i]!.id === viewer.userId) continue;
      if (visibility === "nobody") (hidden ??= new Array(users.length).fill(false))[i] = true;
      else (ask ??= []).push(i);
    }
    if (ask === null) return hidden;
    const sets = await this.#contacts.many(
      ask.map((i) => users[i]!.id),
      (missing) => this.#load(missing),
      NO_CONTACTS,
    );
    for (let k = 0; k < ask.length; k++) {
      if (!sets[k].has(viewer.userId)) {
        (hidden ??= new Array(users.length).fill(false))[ask[k]] = true;
      }
    }
    return hidden;
  }

  async #load(userIds: string[]): Promise<Map<string, ReadonlySet<string>>> {
    const lists = await getPresenceContactsMany(this.#kv, userIds);
    return new Map([...lists].map(([id, ids]) => [id, new Set(ids)]));
  }

  /**
   * A user's record and contact set read from KV now (a change was just announced), and
   * remembered; `user` is null for an unknown id.
   */
  async fresh(userId: string): Promise<{ user: User | null; contacts: ReadonlySet<string> }> {
    const { user, contacts } = await getUserAndPresenceContacts(this.#kv, userId);
    const set = new Set(contacts.value ?? []);
    this.#contacts.set(userId, set);
    if (user.value) this.#users.rememberUser(user.value);
    else this.#users.forgetUser(userId);
    return { user: user.value, contacts: set };
  }

  /** Remembers a contact list this instance just wrote. */
  remember(userId: string, userIds: string[]): void {
    this.#contacts.set(userId, new Set(userIds));
  }

  /** Drops a user's copies (their record and contact set): the next read loads them. */
  forget(userId: string): void {
    this.#contacts.delete(userId);
    this.#users.forgetUser(userId);
  }

  /** Drops what other instances' `SIGHT_CHANGED` events say changed; returns the unsubscribe. */
  follow(bus: EventBus): () => void {
    return bus.subscribe((event) => {
      if (event.instance === bus.instance || event.data.type !== SIGHT_CHANGED) return;
      if (typeof event.data.user_id === "string") this.forget(event.data.user_id);
    });
  }
}
