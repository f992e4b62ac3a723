import { addAudit, type AuditEntry, listAudit } from "../../kv/audit.ts";
import { getUsers, type User } from "../../kv/users.ts";
import type { Writes } from "../../kv/writes.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";

/** Who made an admin change, and from where: an admin, or an API key (`userId` null). */
export interface Actor {
  userId: string | null;
  ip: string;
  apiKeyId?: string;
}

/** What changed, field by field: each changed field's value before and after. */
export type Changes = AuditEntry["changes"];

/** An audit entry as events and the admin API show it (`at` only in the API's list). */
export function auditFields(entry: AuditEntry): Record<string, unknown> {
  return {
    id: entry.id,
    actor: actorFields(entry.actor),
    action: entry.action,
    target: entry.target,
    changes: entry.changes,
  };
}

function actorFields(actor: Actor): { user_id: string | null; api_key_id?: string; ip: string } {
  return actor.apiKeyId
    ? { user_id: null, api_key_id: actor.apiKeyId, ip: actor.ip }
    : { user_id: actor.userId, ip: actor.ip };
}

/**
 * Adds an admin change's audit entry and its `audit` event to the commit of the change
 * itself; returns the event, to publish once that commit went through. A change about a user
 * names them (`user_id`), so it is among that user's recent events.
 */
export function addAuditWrites(
  ctx: Services,
  w: Writes,
  change: { actor: Actor; action: string; target: string; changes: Changes; userId?: string },
): LiveEvent {
  const now = ctx.clock.now();
  const event = ctx.bus.newEvent("audit", change.action, now);
  // The event's id is a ULID that only grows on this instance: entries made within one
  // millisecond keep their order too.
  const entry: AuditEntry = {
    id: `aud_${event.id}`,
    at: now,
    actor: change.actor,
    action: change.action,
    target: change.target,
    changes: change.changes,
  };
  Object.assign(event.data, auditFields(entry), change.userId ? { user_id: change.userId } : {});
  addAudit(w, entry);
  addEventWrites(w, event, now);
  return event;
}

/** Each field of `after` whose value differs from `before`'s, as `{ from, to }`. */
export function changesOf(before: object, after: object): Changes {
  const was = before as Record<string, unknown>;
  const out: Changes = {};
  for (const [name, to] of Object.entries(after)) {
    if (to !== undefined && was[name] !== to) out[name] = { from: was[name] ?? null, to };
  }
  return out;
}

/** One entry of `GET /api/v1/admin/audit`. */
export interface AuditView {
  id: string;
  at: string;
  /** The acting admin: `name` is their email, phone or Telegram id as it is now (null: none). */
  actor: { user_id: string | null; api_key_id?: string; ip: string; name: string | null };
  action: string;
  target: string;
  /** A user target as it is now (email, phone or Telegram id); null for other targets. */
  target_name: string | null;
  changes: Changes;
}

/**
 * `GET /api/v1/admin/audit`: what admins changed, newest first, a page at a time. Entries keep
 * ids only; the names people recognise are read with the page (one batch of users).
 */
export async function listAdminAudit(
  ctx: Services,
  query: { limit: number; cursor?: string },
): Promise<{ entries: AuditView[]; cursor: string | null }> {
  const page = await listAudit(ctx.kv, query);
  const ids = new Set<string>();
  for (const entry of page.entries) {
    if (entry.actor.userId) ids.add(entry.actor.userId);
    if (entry.target.startsWith("usr_")) ids.add(entry.target);
  }
  const users = await getUsers(ctx.kv, [...ids]);
  const nameOf = (id: string) => displayName(users.get(id));
  return {
    entries: page.entries.map((entry) => ({
      id: entry.id,
      at: new Date(entry.at).toISOString(),
      actor: {
        ...actorFields(entry.actor),
        name: entry.actor.userId ? nameOf(entry.actor.userId) : null,
      },
      action: entry.action,
      target: entry.target,
      target_name: entry.target.startsWith("usr_") ? nameOf(entry.target) : null,
      changes: entry.changes,
    })),
    cursor: page.cursor,
  };
}

/** How the dashboard names a user: email, else phone, else Telegram id; null when unknown. */
function displayName(user: User | undefined): string | null {
  if (!user) return null;
  return user.email ?? user.phone ?? (user.telegramId ? `Telegram ${user.telegramId}` : null);
}
