import { createHash } from "node:crypto";
import {
  addApiKey,
  addApiKeyRemoval,
  type ApiKey,
  getApiKey,
  listApiKeys,
} from "../../kv/api_keys.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { Writes } from "../../kv/writes.ts";
import { type Actor, addAuditWrites } from "../admin/audit.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Services } from "../services.ts";
import { toBase64Url } from "./codes.ts";

/** What an API key may be allowed, each naming a group of admin calls (README, "Server API keys"). */
export const SCOPES = [
  "users:read",
  "users:write",
  "presence:read",
  "contacts:write",
  "events:read",
  "settings:write",
] as const;

/** One permission of an API key. */
export type Scope = (typeof SCOPES)[number];

/** Characters of the secret shown as its prefix (`dk_` and 8 more). */
const PREFIX_LENGTH = 11;
/** A secret as we hand it out: `dk_` and 43 base64url characters (32 random bytes). */
const SECRET_SHAPE = /^dk_[A-Za-z0-9_-]{43}$/;

/** An API key as the admin API shows it (never the secret). */
export interface ApiKeyView {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  last_used_at: string | null;
}

function view(key: ApiKey, lastUsedAt: number | null): ApiKeyView {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    prefix: key.prefix,
    created_at: new Date(key.createdAt).toISOString(),
    created_by: key.createdBy,
    expires_at: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
    last_used_at: lastUsedAt === null ? null : new Date(lastUsedAt).toISOString(),
  };
}

/** The stored form of a secret (SHA-256, base64url): 256 random bits need no key. */
export function hashApiKeySecret(secret: string): string {
  return createHash("sha256").update(secret).digest("base64url");
}

/**
 * `POST /api/v1/admin/api-keys`: a new key, stored as the hash of its secret, audited in the
 * same commit (`api_key.create`). The secret is returned here and never again.
 */
export async function createApiKey(
  ctx: Services,
  input: { name: string; scopes: Scope[]; expiresAt?: number },
  actor: Actor & { userId: string },
): Promise<{ key: ApiKeyView; secret: string }> {
  const now = ctx.clock.now();
  if (input.expiresAt !== undefined && input.expiresAt <= now) {
    throw new AppError("VALIDATION_FAILED", "expires_at must be in the future.", {
      details: [{ path: "expires_at", message: "must be in the future" }],
    });
  }
  const secret = `dk_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
  const key: ApiKey = {
    id: newId("key", now),
    name: input.name,
    scopes: [...new Set(input.scopes)],
    prefix: secret.slice(0, PREFIX_LENGTH),
    hash: hashApiKeySecret(secret),
    createdAt: now,
    createdBy: actor.userId,
    expiresAt: input.expiresAt ?? null,
  };
  const w = addApiKey(new Writes(), key);
  const event = addAuditWrites(ctx, w, {
    actor,
    action: "api_key.create",
    target: key.id,
    changes: { name: { from: null, to: key.name }, scopes: { from: null, to: key.scopes } },
  });
  if (!await ctx.commits.commit(w)) throw new Error("a new API key's id or hash already exists");
  ctx.bus.publish(event);
  ctx.log.info("api key created", { id: key.id, by: actor.userId });
  return { key: view(key, null), secret };
}

/** `GET /api/v1/admin/api-keys`: every key, oldest first. */
export async function listAdminApiKeys(ctx: Services): Promise<{ keys: ApiKeyView[] }> {
  const list = await listApiKeys(ctx.kv);
  return { keys: list.map(({ key, lastUsedAt }) => view(key, lastUsedAt)) };
}

/**
 * `DELETE /api/v1/admin/api-keys/:id`: the key stops working at once here and, through the
 * audit event (`api_key.revoke`) in the event tail, within a second everywhere.
 */
export async function revokeApiKey(ctx: Services, id: string, actor: Actor): Promise<void> {
  const done = await retry(`revoke the API key ${id}`, async () => {
    const current = await getApiKey(ctx.kv, id);
    if (!current.value) return null;
    const w = addApiKeyRemoval(new Writes().check(current), current.value);
    const event = addAuditWrites(ctx, w, {
      actor,
      action: "api_key.revoke",
      target: id,
      changes: { name: { from: current.value.name, to: null } },
    });
    return await ctx.commits.commit(w) ? event : CONFLICT;
  });
  if (!done) throw new AppError("NOT_FOUND", "No such API key.");
  ctx.apiKeys.forgetAll();
  ctx.bus.publish(done);
  ctx.log.info("api key revoked", { id, by: actor.apiKeyId ?? actor.userId });
}

/** The key behind a Bearer secret, or 401 (malformed, unknown, revoked or expired). */
export async function authenticateApiKey(ctx: Services, secret: string): Promise<ApiKey> {
  if (!SECRET_SHAPE.test(secret)) throw new AppError("UNAUTHORIZED", "API key is not valid.");
  const key = await ctx.apiKeys.byHash(hashApiKeySecret(secret));
  const now = ctx.clock.now();
  if (!key) throw new AppError("UNAUTHORIZED", "API key is not valid.");
  if (key.expiresAt !== null && key.expiresAt <= now) {
    throw new AppError("UNAUTHORIZED", "API key has expired.");
  }
  ctx.apiKeys.used(key.id, now);
  return key;
}
