import { keys } from "./keys.ts";
import { CONFLICT, retry } from "./retry.ts";

/** Where a signing key is in its life: published, signing, verifying its last tokens, refused. */
export type SigningKeyState = "standby" | "current" | "previous" | "revoked";

/** The algorithms a signing key may have. */
export type SigningAlg = "ES256" | "EdDSA";

/** A stored signing key: its public JWK in clear, its private JWK sealed (AES-GCM). */
export interface StoredSigningKey {
  kid: string;
  alg: SigningAlg;
  state: SigningKeyState;
  /** Epoch ms. */
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  /** Public JWK (kty, crv, x, y?): never a private part. */
  publicJwk: Record<string, string>;
  /** The private JWK as JSON, sealed: base64url IV and ciphertext. */
  sealed: { iv: string; data: string };
}

/** All signing keys, in one record so a rotation changes two keys in one commit. */
export interface SigningKeyRing {
  keys: StoredSigningKey[];
}

/** The stored ring and its versionstamp (null when none is stored yet). */
export interface RingEntry {
  ring: SigningKeyRing;
  versionstamp: string | null;
}

/** Reads the ring (empty when none is stored). */
export async function readSigningKeys(kv: Deno.Kv): Promise<RingEntry> {
  const entry = await kv.get<SigningKeyRing>(keys.signingKeys());
  return { ring: entry.value ?? { keys: [] }, versionstamp: entry.versionstamp };
}

/**
 * Changes the ring with `change` under an optimistic check: two instances changing it at once
 * (two first starts, two admins) each read again after losing, and `change` decides anew.
 * `change` returns the new ring and a result, or just a result to leave the ring as it is.
 */
export function updateSigningKeys<T>(
  kv: Deno.Kv,
  what: string,
  change: (ring: SigningKeyRing) => Promise<{ ring?: SigningKeyRing; result: T }>,
): Promise<{ ring: SigningKeyRing; result: T }> {
  return retry(what, async () => {
    const entry = await kv.get<SigningKeyRing>(keys.signingKeys());
    const ring = entry.value ?? { keys: [] };
    const outcome = await change(ring);
    if (!outcome.ring) return { ring, result: outcome.result };
    const done = await kv.atomic().check(entry).set(entry.key, outcome.ring).commit();
    return done.ok ? { ring: outcome.ring, result: outcome.result } : CONFLICT;
  });
}

/** The ring's entry itself, for a change that commits with other writes (an audit entry). */
export function getSigningKeyRing(kv: Deno.Kv): Promise<Deno.KvEntryMaybe<SigningKeyRing>> {
  return kv.get<SigningKeyRing>(keys.signingKeys());
}
