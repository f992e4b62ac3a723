import { keys } from "./keys.ts";
import type { User } from "./users.ts";
import type { AtomicWrites } from "./writes.ts";

/** The most ids one user's presence contacts hold (README, "Who sees you online"). */
export const MAX_PRESENCE_CONTACTS = 1_000;

/** A user's presence contacts (empty when none were ever set), with the entry's versionstamp. */
export async function getPresenceContacts(
  kv: Deno.Kv,
  userId: string,
): Promise<Deno.KvEntryMaybe<string[]>> {
  return await kv.get<string[]>(keys.presenceContacts(userId));
}

/**
 * Many users' presence contacts, in batches of ten (KV's `getMany` limit), read in parallel;
 * a user without a record is left out.
 */
export async function getPresenceContactsMany(
  kv: Deno.Kv,
  userIds: string[],
): Promise<Map<string, string[]>> {
  const batches: string[][] = [];
  for (let i = 0; i < userIds.length; i += 10) batches.push(userIds.slice(i, i + 10));
  const out = new Map<string, string[]>();
  await Promise.all(batches.map(async (batch) => {
    const entries = await kv.getMany<string[][]>(batch.map((id) => keys.presenceContacts(id)));
    entries.forEach((entry, i) => {
      if (entry.value) out.set(batch[i], entry.value);
    });
  }));
  return out;
}

/** Adds replacing a user's presence contacts (the one record; an empty list deletes it). */
export function addSetPresenceContacts<W extends AtomicWrites>(
  op: W,
  userId: string,
  userIds: string[],
): W {
  return userIds.length === 0
    ? op.delete(keys.presenceContacts(userId))
    : op.set(keys.presenceContacts(userId), userIds);
}

/** A user and their presence contacts, read together in one round trip (after a change). */
export async function getUserAndPresenceContacts(
  kv: Deno.Kv,
  userId: string,
): Promise<{ user: Deno.KvEntryMaybe<User>; contacts: Deno.KvEntryMaybe<string[]> }> {
  const [user, contacts] = await kv.getMany<[User, string[]]>([
    keys.user(userId),
    keys.presenceContacts(userId),
  ]);
  return { user, contacts };
}
