import { withCursor } from "./cursor.ts";
import { keys } from "./keys.ts";
import type { AtomicWrites } from "./writes.ts";

/** How long audit entries are kept. */
export const AUDIT_TTL_MS = 365 * 86_400_000;

/** One change an admin made: who, from where, what, and the values before and after. */
export interface AuditEntry {
  id: string;
  at: number;
  /** An admin (`userId`) or an API key (`apiKeyId`, `userId` null). */
  actor: { userId: string | null; ip: string; apiKeyId?: string };
  /** `user.update`, `user.sessions_revoke`, `settings.update`, `fraud.prefix_unblock`, … */
  action: string;
  /** What was changed: a user id, a number range, `settings`. */
  target: string;
  /** Each changed field's value before and after. */
  changes: Record<string, { from: unknown; to: unknown }>;
}

/** Records an admin change; add it to the commit of the change itself. */
export function addAudit<W extends AtomicWrites>(w: W, entry: AuditEntry): W {
  return w.set(keys.audit(entry.id), entry, { expireIn: AUDIT_TTL_MS });
}

/** Audit entries newest first. */
export async function listAudit(
  kv: Deno.Kv,
  options: { limit: number; cursor?: string },
): Promise<{ entries: AuditEntry[]; cursor: string | null }> {
  const iterator = kv.list<AuditEntry>({ prefix: keys.audits() }, {
    reverse: true,
    cursor: options.cursor,
    limit: options.limit,
  });
  const entries: AuditEntry[] = [];
  await withCursor(async () => {
    for await (const entry of iterator) entries.push(entry.value);
  });
  return {
    entries,
    cursor: entries.length === options.limit ? iterator.cursor || null : null,
  };
}
