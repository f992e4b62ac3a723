import { withCursor } from "./cursor.ts";
import { keys } from "./keys.ts";
import { presenceKeysOf, type PresenceRecord, presenceRecordOf } from "./presence.ts";
import type { AtomicWrites } from "./writes.ts";

/** Account states; only `active` may sign in and be online. */
export type UserStatus = "active" | "inactive" | "suspended" | "banned";
/** Roles a user can have. */
export type UserRole = "user" | "admin";

/** A stored user. Telegram ids are kept as decimal strings: they exceed 32 bits. */
export interface User {
  id: string;
  phone: string | null;
  email: string | null;
  telegramId: string | null;
  status: UserStatus;
  role: UserRole;
  createdAt: number;
  updatedAt: number;
  /** When a suspension ends by itself (ms); absent or null: it does not (users stored before). */
  suspendedUntil?: number | null;
  /** Who sees the user's presence; absent (users stored before): `everyone`. */
  presenceVisibility?: PresenceVisibility;
}

/** Who sees a user's online status and last seen (README, "Who sees you online"). */
export type PresenceVisibility = "everyone" | "contacts" | "nobody";

/** How a user is found: by canonical phone, email or Telegram id. */
export type UserLookup =
  | { kind: "phone"; value: string }
  | { kind: "email"; value: string }
  | { kind: "telegram"; value: string };

/** The unique-index key of a lookup. */
export function indexKey(lookup: UserLookup): Deno.KvKey {
  switch (lookup.kind) {
    case "phone":
      return keys.userByPhone(lookup.value);
    case "email":
      return keys.userByEmail(lookup.value);
    case "telegram":
      return keys.userByTelegram(BigInt(lookup.value));
  }
}

/** Every index key a user owns. */
export function indexKeysOf(user: User): Deno.KvKey[] {
  const out: Deno.KvKey[] = [];
  if (user.phone) out.push(keys.userByPhone(user.phone));
  if (user.email) out.push(keys.userByEmail(user.email));
  if (user.telegramId) out.push(keys.userByTelegram(BigInt(user.telegramId)));
  return out;
}

/** The index entry that ends a user's suspension when it is due, if their suspension ends. */
function suspensionEndKey(user: User): Deno.KvKey | null {
  return user.status === "suspended" && user.suspendedUntil
    ? keys.suspensionEnd(user.suspendedUntil, user.id)
    : null;
}

/** Reads a user by id. */
export async function getUser(kv: Deno.Kv, id: string): Promise<User | null> {
  return (await kv.get<User>(keys.user(id))).value;
}

/** Reads the index entry of a lookup (its versionstamp guards a later create). */
export function getUserIndex(
  kv: Deno.Kv,
  lookup: UserLookup,
): Promise<Deno.KvEntryMaybe<string>> {
  return kv.get<string>(indexKey(lookup));
}

/**
 * Saves a user and its indexes in one atomic commit. `previous` is the stored version being
 * replaced (null for a new user); each new index must be free, each dropped index is removed.
 * Returns false when another writer got there first.
 */
export async function saveUser(
  kv: Deno.Kv,
  user: User,
  previous: Deno.KvEntryMaybe<User>,
): Promise<boolean> {
  const op = kv.atomic();
  addSaveUser(op, user, previous);
  return (await op.commit()).ok;
}

/**
 * Adds the writes of `saveUser` to a larger atomic operation. A new user (no `previous`)
 * also raises the user counter, in the same commit, so the total never drifts. A new user's
 * id is fresh, so only its unique indexes need checking: one check fewer lets more sign-ins
 * share a group commit. The suspension-end index follows the user in the same commit.
 */
export function addSaveUser<W extends AtomicWrites>(
  op: W,
  user: User,
  previous: Deno.KvEntryMaybe<User>,
): W {
  if (previous.value) op.check(previous);
  op.set(keys.user(user.id), user);
  if (!previous.value) op.sum(keys.userCount(), 1n);
  const before = previous.value ? indexKeysOf(previous.value) : [];
  const after = indexKeysOf(user);
  const same = (a: Deno.KvKey, b: Deno.KvKey) =>
    a.length === b.length && a.every((part, i) => part === b[i]);
  for (const key of after) {
    if (!before.some((k) => same(k, key))) {
      op.check({ key, versionstamp: null }).set(key, user.id);
    }
  }
  for (const key of before) {
    if (!after.some((k) => same(k, key))) op.delete(key);
  }
  const endBefore = previous.value ? suspensionEndKey(previous.value) : null;
  const endAfter = suspensionEndKey(user);
  const kept = endBefore !== null && endAfter !== null && same(endBefore, endAfter);
  if (endBefore && !kept) op.delete(endBefore);
  if (endAfter && !kept) op.set(endAfter, user.id);
  return op;
}

/** Suspensions whose end is due by `now` (ms), soonest first: who and when. */
export async function listDueSuspensions(
  kv: Deno.Kv,
  options: { now: number; limit: number },
): Promise<{ userId: string; endsAt: number }[]> {
  const out: { userId: string; endsAt: number }[] = [];
  const iterator = kv.list<string>({
    start: keys.suspensionEnds(),
    end: [...keys.suspensionEnds(), options.now + 1],
  }, { limit: options.limit });
  for await (const entry of iterator) {
    out.push({ endsAt: entry.key[1] as number, userId: entry.value });
  }
  return out;
}

/** Adds dropping a suspension-end entry that no longer matches its user. */
export function addDropSuspensionEnd<W extends AtomicWrites>(
  op: W,
  due: { userId: string; endsAt: number },
): W {
  return op.delete(keys.suspensionEnd(due.endsAt, due.userId));
}

/** How many users exist (counted as they are created, never by a scan). */
export async function readUserCount(kv: Deno.Kv): Promise<number> {
  const count = (await kv.get(keys.userCount())).value;
  return count instanceof Deno.KvU64 ? Number(count.value) : 0;
}

/** Reads a user entry (with versionstamp) by id; an absent user reads as an empty entry. */
export function getUserEntry(kv: Deno.Kv, id: string): Promise<Deno.KvEntryMaybe<User>> {
  return kv.get<User>(keys.user(id));
}

/** Reads a user entry and their presence record together, in one round trip. */
export async function getUserWithPresence(
  kv: Deno.Kv,
  id: string,
): Promise<{ user: Deno.KvEntryMaybe<User>; presence: PresenceRecord }> {
  const entries = await kv.getMany([keys.user(id), ...presenceKeysOf(id)]);
  return {
    user: entries[0] as Deno.KvEntryMaybe<User>,
    presence: presenceRecordOf(entries.slice(1)),
  };
}

/**
 * The user a lookup names, with their presence, for a sign-in; `user` is null when nobody has
 * it. `known` is the lookup's index entry as read a moment earlier (with the code request):
 * if it named nobody, nothing is read (the sign-in's commit checks that the index is still
 * empty, so a user created since refuses it, and the retry reads again); if it named a user,
 * the index, that user and their presence are read in one round trip. Without it, the index
 * is read first.
 */
export async function getSigningInUser(
  kv: Deno.Kv,
  lookup: UserLookup,
  known: Deno.KvEntryMaybe<string> | null,
): Promise<SigningInUser> {
  if (known && known.value === null) return { user: null, presence: null };
  let index: Deno.KvEntryMaybe<string>;
  if (known) {
    const id = known.value!;
    const entries = await kv.getMany([indexKey(lookup), keys.user(id), ...presenceKeysOf(id)]);
    index = entries[0] as Deno.KvEntryMaybe<string>;
    if (index.value === id) {
      return {
        user: entries[1] as Deno.KvEntryMaybe<User>,
        presence: presenceRecordOf(entries.slice(2)),
      };
    }
  } else {
    index = await getUserIndex(kv, lookup);
  }
  return index.value ? await getUserWithPresence(kv, index.value) : { user: null, presence: null };
}

/** The user a code signs in, as read (null: nobody yet), with their presence record. */
export interface SigningInUser {
  user: Deno.KvEntryMaybe<User> | null;
  presence: PresenceRecord | null;
}

/** The empty entry a brand-new user is created over. */

/** A user entry that was never written: a new user's, keyed by its new id. */
export function emptyUserEntry(id: string): Deno.KvEntryMaybe<User> {
  return { key: keys.user(id), value: null, versionstamp: null };
}

/** The id of the user a user entry is of, read or not yet written (its key names it). */
export function userIdOf(entry: Deno.KvEntryMaybe<User>): string {
  return String(entry.key[1]);
}

/** Reads many users by id, in batches of ten (KV's `getMany` limit). */
export async function getUsers(kv: Deno.Kv, ids: string[]): Promise<Map<string, User>> {
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += 10) batches.push(ids.slice(i, i + 10));
  const out = new Map<string, User>();
  await Promise.all(batches.map(async (batch) => {
    const entries = await kv.getMany<User[]>(batch.map((id) => keys.user(id)));
    for (const entry of entries) if (entry.value) out.set(entry.value.id, entry.value);
  }));
  return out;
}

/** A page of users in creation order (ids are ULIDs), or newest first with `reverse`. */
export async function listUsers(
  kv: Deno.Kv,
  options: { cursor?: string; limit: number; reverse?: boolean },
): Promise<{ users: User[]; cursor: string | null }> {
  const iterator = kv.list<User>({ prefix: keys.users() }, {
    cursor: options.cursor,
    limit: options.limit,
    reverse: options.reverse ?? false,
  });
  const users: User[] = [];
  await withCursor(async () => {
    for await (const entry of iterator) users.push(entry.value);
  });
  return { users, cursor: users.length === options.limit ? iterator.cursor || null : null };
}

/** Ids of users whose phone or email starts with `prefix` (at most `limit` of each). */
export async function findUserIdsByPrefix(
  kv: Deno.Kv,
  prefix: string,
  limit: number,
): Promise<string[]> {
  const ids = new Set<string>();
  for (const collection of ["users_by_phone", "users_by_email"] as const) {
    const base = collection === "users_by_phone" ? keys.userByPhone("") : keys.userByEmail("");
    const start = [base[0], prefix];
    const end = [base[0], `${prefix}\uffff`];
    for await (const entry of kv.list<string>({ start, end }, { limit })) ids.add(entry.value);
  }
  return [...ids];
}

/** The id of the user a Telegram account belongs to, if any. */
export async function findUserIdByTelegram(
  kv: Deno.Kv,
  telegramId: bigint,
): Promise<string | null> {
  return (await kv.get<string>(keys.userByTelegram(telegramId))).value;
}

/**
 * Whether any of the first `atMost` users is an admin: a scan, for development's start-up hint
 * only (a development KV holds few users; past `atMost` it answers true rather than read on).
 */
export async function anyAdminAmongFirst(kv: Deno.Kv, atMost: number): Promise<boolean> {
  let seen = 0;
  for await (const entry of kv.list<User>({ prefix: keys.users() }, { batchSize: 500 })) {
    if (entry.value.role === "admin" || ++seen >= atMost) return true;
  }
  return false;
}

/**
 * Reads a user entry and the index entry of a contact together, in one round trip: what a
 * contact change checks (the contact must be free, or already this user's).
 */
export async function getUserAndIndex(
  kv: Deno.Kv,
  id: string,
  lookup: UserLookup,
): Promise<{ user: Deno.KvEntryMaybe<User>; index: Deno.KvEntryMaybe<string> }> {
  const [user, index] = await kv.getMany<[User, string]>([keys.user(id), indexKey(lookup)]);
  return { user, index };
}
