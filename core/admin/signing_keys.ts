import { CONFLICT, retry } from "../../kv/retry.ts";
import {
  getSigningKeyRing,
  type SigningKeyRing,
  type SigningKeyState,
  type StoredSigningKey,
} from "../../kv/signing_keys.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { type Actor, addAuditWrites, type Changes } from "./audit.ts";

/** A signing key as `GET /api/v1/admin/signing-keys` shows it: never a key's material. */
export interface SigningKeyView {
  kid: string;
  alg: string;
  state: SigningKeyState;
  created_at: string;
  activated_at: string | null;
  retired_at: string | null;
}

/** All signing keys, newest first, as stored now. */
export async function listSigningKeys(ctx: Services): Promise<{ keys: SigningKeyView[] }> {
  const entry = await getSigningKeyRing(ctx.kv);
  const keys = [...(entry.value?.keys ?? [])].sort((a, b) => b.createdAt - a.createdAt);
  return { keys: keys.map(viewOf) };
}

/** A new standby key: published in the JWKS at once, signing once activated. */
export async function createSigningKey(ctx: Services, actor: Actor): Promise<SigningKeyView> {
  const now = ctx.clock.now();
  // Generated once: a retry after a lost race stores the same key.
  const key = await ctx.tokens.keys.generate(ctx.config.accessTokenAlg, now);
  return await change(ctx, actor, "signing_key.create", key.kid, (ring) => ({
    // The ring is one KV value (64 KiB at most): keys revoked long ago leave it.
    ring: { keys: [...ring.keys.filter((k) => !longRevoked(k, now)), key] },
    changes: { state: { from: null, to: "standby" }, alg: { from: null, to: key.alg } },
  }));
}

/**
 * Makes a standby key sign from now on; the current one becomes `previous` and keeps verifying
 * until its last token expires. Refused while the key has been published for less than
 * `SIGNING_KEY_PUBLISH_SECONDS`: verifiers that cached the JWKS before it would not know it.
 */
export function activateSigningKey(
  ctx: Services,
  kid: string,
  actor: Actor,
): Promise<SigningKeyView> {
  return change(ctx, actor, "signing_key.activate", kid, (ring, now) => {
    const key = find(ring, kid);
    if (key.state === "current") return null;
    if (key.state !== "standby") {
      throw new AppError(
        "CONFLICT",
        `Signing key ${kid} is ${key.state}; only a standby key can be activated.`,
        {
          reason: "key_not_standby",
        },
      );
    }
    const readyAt = key.createdAt + ctx.config.signingKeyPublishSeconds * 1000;
    if (now < readyAt) {
      throw new AppError(
        "CONFLICT",
        `Signing key ${kid} has not been published long enough: it may sign from ${
          new Date(readyAt).toISOString()
        }.`,
        { reason: "key_not_ready", retry_after: Math.max(1, Math.ceil((readyAt - now) / 1000)) },
      );
    }
    const keys = ring.keys.map((k): StoredSigningKey =>
      k.kid === kid
        ? { ...k, state: "current", activatedAt: now }
        : k.state === "current"
        ? { ...k, state: "previous", retiredAt: now }
        : k
    );
    return { ring: { keys }, changes: { state: { from: "standby", to: "current" } } };
  });
}

/**
 * Revokes a key: tokens signed with it are refused at once here and within a second on every
 * other instance (each rereads the ring that often), and it leaves the JWKS. Not the current key.
 */
export function revokeSigningKey(
  ctx: Services,
  kid: string,
  actor: Actor,
): Promise<SigningKeyView> {
  return change(ctx, actor, "signing_key.revoke", kid, (ring, now) => {
    const key = find(ring, kid);
    if (key.state === "revoked") return null;
    if (key.state === "current") {
      throw new AppError(
        "CONFLICT",
        `Signing key ${kid} is the current key: activate another one before revoking it.`,
        { reason: "key_in_use" },
      );
    }
    const keys = ring.keys.map((k): StoredSigningKey =>
      k.kid === kid ? { ...k, state: "revoked", retiredAt: k.retiredAt ?? now } : k
    );
    return { ring: { keys }, changes: { state: { from: key.state, to: "revoked" } } };
  });
}

/**
 * One audited change of the ring, in one commit with its audit entry; `decide` returns null
 * when there is nothing to change (the key is already so: no entry either).
 */
async function change(
  ctx: Services,
  actor: Actor,
  action: string,
  kid: string,
  decide: (ring: SigningKeyRing, now: number) => { ring: SigningKeyRing; changes: Changes } | null,
): Promise<SigningKeyView> {
  const done = await retry(action, async () => {
    const now = ctx.clock.now();
    const entry = await getSigningKeyRing(ctx.kv);
    const ring = entry.value ?? { keys: [] };
    const decided = decide(ring, now);
    if (!decided) return { ring, event: null };
    const writes = new Writes().check(entry).set(entry.key, decided.ring);
    const event = addAuditWrites(ctx, writes, {
      actor,
      action,
      target: kid,
      changes: decided.changes,
    });
    return await ctx.commits.commit(writes) ? { ring: decided.ring, event } : CONFLICT;
  });
  // This instance at once; the others within a second.
  await ctx.tokens.keys.adopt(done.ring);
  if (done.event) ctx.bus.publish(done.event);
  ctx.log.info("signing key changed", { action, kid });
  return viewOf(find(done.ring, kid));
}

/** Revoked keys are listed this long after, then forgotten. */
const FORGET_REVOKED_MS = 30 * 86_400_000;

function longRevoked(k: StoredSigningKey, now: number): boolean {
  return k.state === "revoked" && (k.retiredAt ?? now) + FORGET_REVOKED_MS < now;
}

function find(ring: SigningKeyRing, kid: string): StoredSigningKey {
  const key = ring.keys.find((k) => k.kid === kid);
  if (!key) throw new AppError("NOT_FOUND", `No signing key ${kid}.`);
  return key;
}

function viewOf(k: StoredSigningKey): SigningKeyView {
  const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    created_at: new Date(k.createdAt).toISOString(),
    activated_at: iso(k.activatedAt),
    retired_at: iso(k.retiredAt),
  };
}
