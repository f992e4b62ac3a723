import { keys } from "./keys.ts";
import { CONFLICT, retry } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

/** One sign-in: the chain of refresh tokens issued from it, revoked as a whole. */
export interface RefreshFamily {
  id: string;
  userId: string;
  createdAt: number;
  /** Sliding: every rotation pushes it out by the refresh token lifetime. */
  expiresAt: number;
  revokedAt: number | null;
}

/** A refresh token, stored only under the hash of its value. */
export interface RefreshToken {
  familyId: string;
  userId: string;
  expiresAt: number;
  /** Set once the token was exchanged; presenting it again means it was stolen. */
  rotatedAt: number | null;
}

/** Adds the writes that open a new family with its first token to an atomic operation. */
export function addOpenFamily<W extends AtomicWrites>(
  op: W,
  family: RefreshFamily,
  tokenHash: string,
  token: RefreshToken,
): W {
  const expireIn = Math.max(1, family.expiresAt - family.createdAt);
  return op
    .set(keys.refreshFamily(family.id), family, { expireIn })
    .set(keys.familyOfUser(family.userId, family.id), family.expiresAt, { expireIn })
    .set(keys.refreshToken(tokenHash), token, { expireIn });
}

/** Reads a family by id. */
export function getFamily(kv: Deno.Kv, id: string): Promise<Deno.KvEntryMaybe<RefreshFamily>> {
  return kv.get<RefreshFamily>(keys.refreshFamily(id));
}

/** Reads a refresh token and its family together. */
export async function getRefreshToken(
  kv: Deno.Kv,
  hash: string,
): Promise<
  { token: Deno.KvEntryMaybe<RefreshToken>; family: Deno.KvEntryMaybe<RefreshFamily> | null }
> {
  const token = await kv.get<RefreshToken>(keys.refreshToken(hash));
  if (!token.value) return { token, family: null };
  return { token, family: await getFamily(kv, token.value.familyId) };
}

/**
 * Adds the exchange of a refresh token for a new one, guarded by both versionstamps, so of
 * two parallel exchanges exactly one commits.
 */
export function addRotation<W extends AtomicWrites>(
  w: W,
  options: {
    token: Deno.KvEntry<RefreshToken>;
    family: Deno.KvEntry<RefreshFamily>;
    now: number;
    nextHash: string;
    expiresAt: number;
  },
): W {
  const { token, family, now, nextHash, expiresAt } = options;
  const expireIn = Math.max(1, expiresAt - now);
  return w
    .check(token, family)
    .set(token.key, { ...token.value, rotatedAt: now }, { expireIn })
    .set(family.key, { ...family.value, expiresAt }, { expireIn })
    .set(keys.familyOfUser(family.value.userId, family.value.id), expiresAt, { expireIn })
    .set(
      keys.refreshToken(nextHash),
      {
        familyId: family.value.id,
        userId: family.value.userId,
        expiresAt,
        rotatedAt: null,
      } satisfies RefreshToken,
      { expireIn },
    );
}

/** Marks a family revoked (kept until it would have expired, so reuse stays detectable). */
export function revokeFamily(kv: Deno.Kv, id: string, now: number): Promise<boolean> {
  return retry(`revoke sign-in "${id}"`, async () => {
    const family = await getFamily(kv, id);
    if (!family.value) return false;
    if (family.value.revokedAt !== null) return true;
    const expireIn = Math.max(1, family.value.expiresAt - now);
    const result = await kv.atomic()
      .check(family)
      .set(family.key, { ...family.value, revokedAt: now }, { expireIn })
      .delete(keys.familyOfUser(family.value.userId, id))
      .commit();
    return result.ok ? true : CONFLICT;
  });
}

/** Ids of the families a user holds that are neither revoked nor expired at `now`. */
export async function listFamiliesOfUser(
  kv: Deno.Kv,
  userId: string,
  now: number,
): Promise<string[]> {
  const ids: string[] = [];
  for await (const entry of kv.list<number>({ prefix: keys.familiesByUser(userId) })) {
    if (entry.value > now) ids.push(String(entry.key[entry.key.length - 1]));
  }
  return ids;
}
