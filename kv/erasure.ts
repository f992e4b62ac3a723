import { eventsOf } from "./event_log.ts";
import { keys } from "./keys.ts";
import type { OtpDelivery, RecipientRecord } from "./otp_requests.ts";
import { presenceKeysOf, type PresenceRecord, presenceRecordOf } from "./presence.ts";
import { commitUnchecked } from "./retry.ts";
import type { RefreshToken, Session } from "./sessions.ts";
import type { StoredEvent } from "./stored_event.ts";
import { indexKeysOf, type User } from "./users.ts";
import type { Writes } from "./writes.ts";

// Adding 2^64 - 1 to a `KvU64` wraps around: it is how a counter goes down.
const MINUS_ONE = 0xffff_ffff_ffff_ffffn;

/**
 * An account erasure in progress (`user_deletions`): what is left to find once the user record
 * is gone. Its contacts are kept here only until the last record about the user is deleted
 * (this one goes last), because code requests and Telegram links are keyed by them.
 */
export interface UserDeletion {
  userId: string;
  startedAt: number;
  /** The stored keys of the user's recipients (`otp_recipients`), by their limit key. */
  recipients: string[];
  /** The phone a Telegram chat may be linked to, and the user's Telegram id (a chat id). */
  phone: string | null;
  telegramId: string | null;
}

/** What the first commit of an erasure needs, read together. */
export interface ErasureStart {
  user: Deno.KvEntryMaybe<User>;
  presence: PresenceRecord;
  /** The `presence_online` entry: present when the user counts among the online. */
  online: Deno.KvEntryMaybe<unknown>;
  /** Session ids the user's `families_by_user` index names (up to `limit`). */
  sessionIds: string[];
  /** Socket keys of the user (up to `limit`). */
  sockets: Deno.KvKey[];
}

/** Reads a user, their presence, their indexed sessions and sockets, for the first commit. */
export async function readErasureStart(
  kv: Deno.Kv,
  userId: string,
  limit: number,
): Promise<ErasureStart> {
  const entries = await kv.getMany([
    keys.user(userId),
    ...presenceKeysOf(userId),
    keys.presenceOnline(userId),
  ]);
  const sessionIds: string[] = [];
  for await (const entry of kv.list({ prefix: keys.sessionsByUser(userId) }, { limit })) {
    sessionIds.push(String(entry.key[entry.key.length - 1]));
  }
  const sockets: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix: keys.presenceSocketsOf(userId) }, { limit })) {
    sockets.push(entry.key);
  }
  return {
    user: entries[0] as Deno.KvEntryMaybe<User>,
    presence: presenceRecordOf(entries.slice(1, 5)),
    online: entries[5],
    sessionIds,
    sockets,
  };
}

/** Every key a session owns besides its tokens: the record, its index entry, its last use. */
export function sessionKeysOf(userId: string, sessionId: string): Deno.KvKey[] {
  return [
    keys.session(sessionId),
    keys.sessionOfUser(userId, sessionId),
    keys.sessionUsed(sessionId),
  ];
}

/** The presence keys of a user that are not per socket (the due entry when its minute is known). */
export function presenceKeysToErase(userId: string, dueMinute: number | null): Deno.KvKey[] {
  return [
    ...presenceKeysOf(userId),
    ...(dueMinute === null ? [] : [keys.presenceDue(dueMinute, userId)]),
    keys.presenceContacts(userId),
  ];
}

/** Erasures in progress, oldest id first (at most `limit`). */
export async function listUserDeletions(kv: Deno.Kv, limit: number): Promise<UserDeletion[]> {
  const out: UserDeletion[] = [];
  for await (const entry of kv.list<UserDeletion>({ prefix: keys.userDeletions() }, { limit })) {
    out.push(entry.value);
  }
  return out;
}

/** Keys under a prefix (its entries' keys only), up to `limit`. */
export async function listKeys(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  limit: number,
): Promise<Deno.KvKey[]> {
  const out: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix }, { limit })) out.push(entry.key);
  return out;
}

/** One entry of a user's per-user event index: its key, the log entry's id, its events. */
export interface UserEventEntry {
  key: Deno.KvKey;
  /** The log entry holding these events is keyed by the same id (`["events", logId]`). */
  logId: string;
  events: StoredEvent[];
}

/** A user's entries in the event log's per-user index, up to `limit`, oldest first. */
export async function listUserEventEntries(
  kv: Deno.Kv,
  userId: string,
  limit: number,
): Promise<UserEventEntry[]> {
  const out: UserEventEntry[] = [];
  for await (const entry of kv.list({ prefix: keys.userEvents(userId) }, { limit })) {
    const logId = String(entry.key[entry.key.length - 1]);
    out.push({ key: entry.key, logId, events: eventsOf(entry.value) });
  }
  return out;
}

/**
 * Every refresh token of the given users, with the sessions they name: stored under hashes
 * only, so found by one pass over the tokens, read in batches (erasures are rare and a sweep
 * takes all pending ones in one pass; a sign-in pays nothing for it).
 */
export async function* eachRefreshTokenOf(
  kv: Deno.Kv,
  userIds: ReadonlySet<string>,
): AsyncGenerator<{ key: Deno.KvKey; userId: string; familyId: string }> {
  const prefix = keys.refreshToken("").slice(0, 1);
  for await (const entry of kv.list<RefreshToken>({ prefix }, { batchSize: 1_000 })) {
    const { userId, familyId } = entry.value;
    if (userIds.has(userId)) yield { key: entry.key, userId, familyId };
  }
}

/**
 * Every session of the given users, revoked ones too (a revocation takes a session out of its
 * user's index, but its record stays until it would have expired, so a reused token is still
 * recognised): one pass over the sessions, read in batches. Their refresh tokens, stored
 * nowhere, go with them.
 */
export async function* eachSessionOf(
  kv: Deno.Kv,
  userIds: ReadonlySet<string>,
): AsyncGenerator<{ userId: string; sessionId: string }> {
  const prefix = keys.session("").slice(0, 1);
  for await (const entry of kv.list<Session>({ prefix }, { batchSize: 1_000 })) {
    const { userId, id } = entry.value;
    if (userIds.has(userId)) yield { userId, sessionId: id };
  }
}

/** Keys of records under `prefix` (a small collection) whose value names one of `userIds`. */
export async function keysNamingUsers(
  kv: Deno.Kv,
  prefix: Deno.KvKey,
  userIds: ReadonlySet<string>,
): Promise<Deno.KvKey[]> {
  const out: Deno.KvKey[] = [];
  for await (const entry of kv.list<{ userId?: string }>({ prefix }, { batchSize: 500 })) {
    const userId = entry.value?.userId;
    if (userId !== undefined && userIds.has(userId)) out.push(entry.key);
  }
  return out;
}

/** Reads many keys' values, ten to a `getMany`. */
export async function getValues(kv: Deno.Kv, list: Deno.KvKey[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < list.length; i += 10) {
    const entries = await kv.getMany(list.slice(i, i + 10));
    for (const entry of entries) out.push(entry.value);
  }
  return out;
}

/**
 * Deletes keys in commits of at most `perCommit` deletes (KV takes 1,000 mutations and 800 KiB
 * a commit; a delete is its key only). Deleting what is gone already is harmless, so a
 * resumed erasure may run this again.
 */
export async function deleteKeys(
  kv: Deno.Kv,
  list: Deno.KvKey[],
  perCommit = 500,
): Promise<void> {
  for (let i = 0; i < list.length; i += perCommit) {
    const batch = list.slice(i, i + perCommit);
    await commitUnchecked("erase records of a user", () => {
      const op = kv.atomic();
      for (const key of batch) op.delete(key);
      return op;
    });
  }
}

/** Collection prefixes an erasure reads by key. */
export const ERASE_PREFIXES = {
  dashboardSessions: keys.dashboardSession("").slice(0, 1),
  socketTickets: keys.socketTicket("").slice(0, 1),
};

/**
 * The first commit of an erasure: the user record and its sign-in indexes, their sessions
 * (as many as were read), presence and counters go, and the erasure's record is written, so a
 * crash from here on resumes it. Checked against the user and presence as read.
 */
export function addErasureStart(w: Writes, start: ErasureStart, deletion: UserDeletion): Writes {
  const user = start.user as Deno.KvEntry<User>;
  const userId = user.value.id;
  w.check(user, start.presence.state, start.online);
  w.delete(user.key).sum(keys.userCount(), MINUS_ONE);
  for (const key of indexKeysOf(user.value)) w.delete(key);
  if (user.value.suspendedUntil) w.delete(keys.suspensionEnd(user.value.suspendedUntil, userId));
  addPresenceErasure(w, userId, start.presence.dueMinute, start.online, start.sockets);
  for (const id of start.sessionIds) for (const key of sessionKeysOf(userId, id)) w.delete(key);
  return w.set(keys.userDeletion(userId), deletion);
}

/** Adds deleting a user's presence: keys, sockets, and their place among the online. */
function addPresenceErasure<W extends Writes | Deno.AtomicOperation>(
  w: W,
  userId: string,
  dueMinute: number | null,
  online: Deno.KvEntryMaybe<unknown>,
  sockets: Deno.KvKey[],
): W {
  for (const key of presenceKeysToErase(userId, dueMinute)) w.delete(key);
  for (const key of sockets) w.delete(key);
  if (online.versionstamp !== null) w.delete(online.key).sum(keys.onlineCount(), MINUS_ONE);
  return w;
}

/**
 * The last commit of an erasure: what presence writers left since the first (a socket closing
 * on another instance records its user offline) goes with the erasure's record. False when the
 * presence or the record changed meanwhile (read again and retry).
 */
export async function commitErasureEnd(kv: Deno.Kv, userId: string): Promise<boolean> {
  const [deletion, online, due, state] = await kv.getMany([
    keys.userDeletion(userId),
    keys.presenceOnline(userId),
    keys.presenceDueOf(userId),
    keys.presenceState(userId),
  ]);
  if (deletion.versionstamp === null) return true;
  const sockets = await listKeys(kv, keys.presenceSocketsOf(userId), 900);
  const op = kv.atomic().check(deletion, online, due, state);
  addPresenceErasure(op, userId, due.value as number | null, online, sockets);
  op.delete(deletion.key);
  return (await op.commit()).ok;
}

/** The recipients' records and the code requests they name (live, or in cooldown). */
export async function readRecipients(
  kv: Deno.Kv,
  recipients: string[],
): Promise<{ keys: Deno.KvKey[]; requestIds: string[] }> {
  const recordKeys = recipients.map((r) => keys.otpRecipient(r));
  const records = await getValues(kv, recordKeys) as (RecipientRecord | null)[];
  const requestIds = records.flatMap((r) => [r?.activeRequestId, r?.cooldownRequestId])
    .filter((id): id is string => typeof id === "string");
  return { keys: recordKeys, requestIds };
}

/** Code requests' records, how their codes went out, and those deliveries' log entries. */
export async function requestKeys(kv: Deno.Kv, requestIds: string[]): Promise<Deno.KvKey[]> {
  const ids = [...new Set(requestIds)];
  const deliveries = await getValues(kv, ids.map((id) => keys.otpDelivery(id))) as (
    | OtpDelivery
    | null
  )[];
  const out: Deno.KvKey[] = [];
  ids.forEach((id, i) => {
    out.push(keys.otpRequest(id), keys.otpDelivery(id));
    const delivery = deliveries[i];
    if (!delivery) return;
    out.push(keys.delivery(delivery.deliveryId));
    if (delivery.providerId) {
      out.push(keys.deliveryByProvider(delivery.provider, delivery.providerId));
    }
  });
  return out;
}

/** The Telegram links of a user's phone and of their Telegram account's chat, both ways. */
export async function telegramLinkKeys(
  kv: Deno.Kv,
  phone: string | null,
  telegramId: string | null,
): Promise<Deno.KvKey[]> {
  const out: Deno.KvKey[] = [];
  if (phone) {
    out.push(keys.telegramLinkByPhone(phone));
    const chat = (await kv.get<string>(keys.telegramLinkByPhone(phone))).value;
    if (typeof chat === "string") out.push(keys.telegramLinkByChat(BigInt(chat)));
  }
  if (telegramId) {
    out.push(keys.telegramLinkByChat(BigInt(telegramId)));
    const linked = (await kv.get<string>(keys.telegramLinkByChat(BigInt(telegramId)))).value;
    if (typeof linked === "string") out.push(keys.telegramLinkByPhone(linked));
  }
  return out;
}

/** The prefixes of a user's sessions index and sockets, listed until empty. */
export function userPrefixes(userId: string): { sessions: Deno.KvKey; sockets: Deno.KvKey } {
  return { sessions: keys.sessionsByUser(userId), sockets: keys.presenceSocketsOf(userId) };
}

/** A user's presence contacts (ids), or none. */
export async function getPresenceContacts(kv: Deno.Kv, userId: string): Promise<string[]> {
  const value = (await kv.get<string[]>(keys.presenceContacts(userId))).value;
  return Array.isArray(value) ? value : [];
}
