import { keys } from "./keys.ts";
import { CONFLICT, retry } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

/** One sign-in: the chain of refresh tokens issued from it, revoked as a whole. */
export interface Session {
  id: string;
  userId: string;
  createdAt: number;
  /** Sliding: every rotation pushes it out by the refresh token lifetime. */
  expiresAt: number;
  revokedAt: number | null;
  /** The client that signed in (`User-Agent`, at most 256 characters); absent on old records. */
  userAgent?: string | null;
  /** The client IP it signed in from. */
  ip?: string | null;
  /** The last refresh (its creation before any). Use between refreshes: `family_used`. */
  lastUsedAt?: number;
  /**
   * The generation of its one valid refresh token (`rt2.<id>.<generation>.<mac>`, stored
   * nowhere); absent on a session whose tokens were all stored in `refresh_tokens` (made before).
   */
  generation?: number;
  /** Random, per session, MACed into each token (with `generation`). */
  salt?: string;
  /**
   * When the latest generations were exchanged (ms), newest first: `rotations[i]` is when
   * generation `generation - 1 - i` was. Only exchanges within the reuse grace are kept (a
   * client racing itself), so it stays a few numbers long.
   */
  rotations?: number[];
}

/** A refresh token of before `Session.generation`, stored only under the hash of its value. */
export interface RefreshToken {
  familyId: string;
  userId: string;
  expiresAt: number;
  /** Set once the token was exchanged; presenting it again means it was stolen. */
  rotatedAt: number | null;
}

/**
 * Adds the writes that open a new session to an atomic operation: the record (its first
 * token names it, so no token is stored) and its entry in the user's index.
 */
export function addOpenSession<W extends AtomicWrites>(op: W, family: Session): W {
  const expireIn = Math.max(1, family.expiresAt - family.createdAt);
  return op
    .set(keys.session(family.id), family, { expireIn })
    .set(keys.sessionOfUser(family.userId, family.id), family.expiresAt, { expireIn });
}

/** Reads a family by id. */
export function getSession(kv: Deno.Kv, id: string): Promise<Deno.KvEntryMaybe<Session>> {
  return kv.get<Session>(keys.session(id));
}

/** Reads sign-ins by id (unknown ids are absent), ten to a `getMany`. */
export async function getSessions(kv: Deno.Kv, ids: string[]): Promise<Map<string, Session>> {
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += 10) batches.push(ids.slice(i, i + 10));
  const out = new Map<string, Session>();
  await Promise.all(batches.map(async (batch) => {
    const entries = await kv.getMany<Session[]>(batch.map((id) => keys.session(id)));
    for (const entry of entries) if (entry.value) out.set(entry.value.id, entry.value);
  }));
  return out;
}

/** Reads a refresh token and its family together. */
export async function getRefreshToken(
  kv: Deno.Kv,
  hash: string,
): Promise<
  { token: Deno.KvEntryMaybe<RefreshToken>; family: Deno.KvEntryMaybe<Session> | null }
> {
  const token = await kv.get<RefreshToken>(keys.refreshToken(hash));
  if (!token.value) return { token, family: null };
  return { token, family: await getSession(kv, token.value.familyId) };
}

/**
 * Adds the exchange of a session's refresh token for the next generation, guarded by the
 * session's versionstamp (and the stored token's, for a token of before), so of two parallel
 * exchanges exactly one commits. The next token is stored nowhere: `next` is the session as
 * it will be (its generation, salt, expiry), which the token names.
 */
export function addRotation<W extends AtomicWrites>(
  w: W,
  options: {
    family: Deno.KvEntry<Session>;
    next: Session;
    /** The stored token exchanged, when it is one of before. */
    legacy?: Deno.KvEntry<RefreshToken>;
    now: number;
  },
): W {
  const { family, next, legacy, now } = options;
  const expireIn = Math.max(1, next.expiresAt - now);
  w.check(family);
  if (legacy) {
    w.check(legacy).set(legacy.key, { ...legacy.value, rotatedAt: now }, {
      expireIn: Math.max(1, legacy.value.expiresAt - now),
    });
  }
  return w
    .set(family.key, next, { expireIn })
    .set(keys.sessionOfUser(next.userId, next.id), next.expiresAt, { expireIn });
}

/**
 * Adds a note that a sign-in was used at `at`, kept until the sign-in would expire. A plain
 * set: written at most once a minute per sign-in, so two instances' notes differ by moments.
 * (A `max` would never go back, but KV drops `expireIn` on it: the note would outlive its
 * sign-in forever.)
 */
export function addSessionUse<W extends AtomicWrites>(
  w: W,
  use: { familyId: string; at: number; expiresAt: number },
): W {
  return w.set(keys.sessionUsed(use.familyId), use.at, {
    expireIn: Math.max(1, use.expiresAt - use.at),
  });
}

/** A sign-in with when it was last used, as far as KV knows. */
export interface SessionWithUse {
  family: Session;
  /** The latest of its creation, its last refresh and its last noted use. */
  lastUsedAt: number;
}

/** Reads sign-ins by id with their last use (unknown ids are absent), five to a `getMany`. */
export async function getSessionsWithUse(
  kv: Deno.Kv,
  ids: string[],
): Promise<Map<string, SessionWithUse>> {
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += 5) batches.push(ids.slice(i, i + 5));
  const out = new Map<string, SessionWithUse>();
  await Promise.all(batches.map(async (batch) => {
    const entries = await kv.getMany(
      batch.flatMap((id) => [keys.session(id), keys.sessionUsed(id)]),
    );
    batch.forEach((id, i) => {
      const family = entries[2 * i].value as Session | null;
      if (!family) return;
      const used = entries[2 * i + 1].value;
      const noted = typeof used === "number" ? used : 0;
      out.set(id, {
        family,
        lastUsedAt: Math.max(family.createdAt, family.lastUsedAt ?? 0, noted),
      });
    });
  }));
  return out;
}

/**
 * Adds the revocation of a family read a moment ago, unchecked: a rotation that commits
 * after it fails its own check, and one that committed before it is overwritten as revoked
 * (its new tokens then meet a revoked family), so the revocation wins either way.
 */
export function addRevokeSession<W extends AtomicWrites>(
  w: W,
  family: Session,
  now: number,
): W {
  const expireIn = Math.max(1, family.expiresAt - now);
  return w
    .set(keys.session(family.id), { ...family, revokedAt: now }, { expireIn })
    .delete(keys.sessionOfUser(family.userId, family.id));
}

/** Marks a family revoked (kept until it would have expired, so reuse stays detectable). */
export function revokeSession(kv: Deno.Kv, id: string, now: number): Promise<boolean> {
  return retry(`revoke sign-in "${id}"`, async () => {
    const family = await getSession(kv, id);
    if (!family.value) return false;
    if (family.value.revokedAt !== null) return true;
    const expireIn = Math.max(1, family.value.expiresAt - now);
    const result = await kv.atomic()
      .check(family)
      .set(family.key, { ...family.value, revokedAt: now }, { expireIn })
      .delete(keys.sessionOfUser(family.value.userId, id))
      .commit();
    return result.ok ? true : CONFLICT;
  });
}

/** Ids of the families a user holds that are neither revoked nor expired at `now`. */
export async function listSessionsOfUser(
  kv: Deno.Kv,
  userId: string,
  now: number,
): Promise<string[]> {
  const ids: string[] = [];
  for await (const entry of kv.list<number>({ prefix: keys.sessionsByUser(userId) })) {
    if (entry.value > now) ids.push(String(entry.key[entry.key.length - 1]));
  }
  return ids;
}
