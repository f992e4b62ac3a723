import { listOnlineUserIds } from "../../kv/presence.ts";
import { listSessionsOfUser, revokeSession } from "../../kv/sessions.ts";
import {
  addSaveUser,
  findUserIdByTelegram,
  findUserIdsByPrefix,
  getUserEntry,
  getUsers,
  listUsers,
  readUserCount,
  type User,
  type UserRole,
  type UserStatus,
} from "../../kv/users.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { Writes } from "../../kv/writes.ts";
import { normalizePhone } from "../auth/recipients.ts";
import { isTestRecipient, testRecipientConflict } from "../auth/test_recipients.ts";
import { AppError } from "../errors.ts";
import { emitEvent } from "../live/emit.ts";
import {
  type PresenceContext,
  presenceOfUsers,
  type PresenceView,
  takeOffline,
} from "../presence/presence.ts";
import type { Services } from "../services.ts";
import { type PublicUser, publicUser } from "../users.ts";
import { type Actor, addAuditWrites, changesOf } from "./audit.ts";
import { suspensionEndOf } from "./suspensions.ts";

/** A user as admins see them: also when their suspension ends (null: it does not, or none). */
export type AdminAccount = PublicUser & { suspended_until: string | null };

/** A user with presence joined in, as the admin list shows it. */
export type AdminUser = AdminAccount & { presence: Omit<PresenceView, "user_id"> };

/** Which users the admin list shows. */
export interface UserQuery {
  status: "online" | "offline" | "all";
  q?: string;
  limit: number;
  cursor?: string;
}

/** Scanning for offline users reads at most this many pages of `limit` per request. */
const MAX_SCAN_PAGES = 10;

/**
 * The admin list, newest first: all users, only the online ones (from the online index,
 * never a scan of all users), or only the offline ones; or a search by id, phone (with or
 * without its `+`), email or Telegram id. `cursor` continues where the last page stopped;
 * `total` is every user there is (a counter, never a count).
 */
export async function listAdminUsers(
  ctx: PresenceContext,
  query: UserQuery,
): Promise<{ users: AdminUser[]; cursor: string | null; total: number }> {
  const [page, total] = await Promise.all([listPage(ctx, query), readUserCount(ctx.kv)]);
  return { ...page, total };
}

async function listPage(
  ctx: PresenceContext,
  query: UserQuery,
): Promise<{ users: AdminUser[]; cursor: string | null }> {
  const keep = (view: PresenceView) => query.status === "all" || view.status === query.status;
  if (query.q) {
    const users = await searchUsers(ctx, query.q, query.limit);
    const presence = await presenceOfUsers(ctx, users);
    const matches = users.filter((u) => keep(presence.get(u.id)!));
    return { users: matches.map((u) => adminUser(u, presence.get(u.id)!)), cursor: null };
  }
  if (query.status === "online") {
    const page = await listOnlineUserIds(ctx.kv, {
      cursor: query.cursor,
      limit: query.limit,
      reverse: true,
    });
    const found = await getUsers(ctx.kv, page.ids);
    const users = page.ids.map((id) => found.get(id)).filter((u): u is User => u !== undefined);
    const presence = await presenceOfUsers(ctx, users);
    return {
      users: users.filter((u) => keep(presence.get(u.id)!)).map((u) =>
        adminUser(u, presence.get(u.id)!)
      ),
      cursor: page.cursor,
    };
  }
  const out: AdminUser[] = [];
  let cursor: string | null = query.cursor ?? null;
  for (let page = 0; page < MAX_SCAN_PAGES && out.length < query.limit; page++) {
    const result = await listUsers(ctx.kv, {
      cursor: cursor ?? undefined,
      limit: query.limit - out.length,
      reverse: true,
    });
    const presence = await presenceOfUsers(ctx, result.users);
    for (const user of result.users) {
      const view = presence.get(user.id)!;
      if (keep(view)) out.push(adminUser(user, view));
    }
    cursor = result.cursor;
    if (!cursor) break;
  }
  return { users: out, cursor };
}

/**
 * Users matching `q`, newest first: an id; the start of a phone (`+1415`, `1 415`, `1415…`:
 * digits alone are read as a phone without its `+`) or of an email; a Telegram id (exact).
 */
async function searchUsers(ctx: Services, q: string, limit: number): Promise<User[]> {
  const term = q.trim();
  const ids = new Set<string>();
  if (/^usr_[0-9A-Z]{26}$/i.test(term)) ids.add(term);
  const compact = term.replace(/[\s\-().]/g, "");
  const prefixes = new Set<string>();
  const phone = normalizePhone(term);
  if (phone) prefixes.add(phone);
  else if (compact.startsWith("+")) prefixes.add(compact);
  else if (/^\d+$/.test(compact)) prefixes.add(`+${compact}`);
  prefixes.add(term.toLowerCase());
  const lookups: Promise<unknown>[] = [...prefixes].map(async (prefix) => {
    for (const id of await findUserIdsByPrefix(ctx.kv, prefix, limit)) ids.add(id);
  });
  // Telegram ids are 64-bit integers: at most 19 digits.
  if (/^\d{1,19}$/.test(compact)) {
    lookups.push(findUserIdByTelegram(ctx.kv, BigInt(compact)).then((id) => id && ids.add(id)));
  }
  await Promise.all(lookups);
  const users = await getUsers(ctx.kv, [...ids]);
  return [...users.values()].sort((a, b) => b.id.localeCompare(a.id)).slice(0, limit);
}

/** A user as the admin API shows them. */
export function adminAccount(user: User): AdminAccount {
  const until = user.status === "suspended" && user.suspendedUntil ? user.suspendedUntil : null;
  return { ...publicUser(user), suspended_until: until ? new Date(until).toISOString() : null };
}

/** A user with their presence, as the admin API shows it. */
export function adminUser(user: User, presence: PresenceView): AdminUser {
  return {
    ...adminAccount(user),
    presence: { status: presence.status, last_seen: presence.last_seen },
  };
}

/** What an admin may change about a user; `suspended_until` only with `status: "suspended"`. */
export interface UserPatch {
  status?: UserStatus;
  role?: UserRole;
  /** ISO-8601: when the suspension ends by itself (ahead, at most 366 days). */
  suspended_until?: string;
}

/**
 * Changes a user's status or role, audited (`user.update`, each changed field before and
 * after) in the same commit; a test recipient is never made an admin (409 `test_recipient`). A suspension may be given an end (`suspended_until`), when the
 * cron sweep or the user's next sign-in lifts it; any other status change clears it. Leaving
 * `active` ends every sign-in of the user, takes them offline and (through the `user.updated`
 * event, which names the admin) closes their sockets on every instance.
 */
export async function updateUser(
  ctx: PresenceContext,
  id: string,
  change: { patch: UserPatch; actor: Actor },
): Promise<AdminAccount> {
  const { status, role } = change.patch;
  const { actor } = change;
  const until = change.patch.suspended_until === undefined
    ? null
    : suspensionEndOf(change.patch.suspended_until, ctx.clock.now());
  const { before, saved, audit } = await retry(`update user "${id}"`, async () => {
    const entry = await getUserEntry(ctx.kv, id);
    if (!entry.value) throw new AppError("NOT_FOUND", `No user "${id}".`);
    if (role === "admin" && isTestRecipient(ctx.config, entry.value)) {
      throw testRecipientConflict();
    }
    const next: User = {
      ...entry.value,
      status: status ?? entry.value.status,
      role: role ?? entry.value.role,
      updatedAt: ctx.clock.now(),
    };
    if (status !== undefined) next.suspendedUntil = status === "suspended" ? until : null;
    const writes = addSaveUser(new Writes(), next, entry);
    const changes = changesOf(entry.value, { status, role });
    const endBefore = adminAccount(entry.value).suspended_until;
    const endAfter = adminAccount(next).suspended_until;
    if (endBefore !== endAfter) changes.suspended_until = { from: endBefore, to: endAfter };
    const audit = Object.keys(changes).length > 0
      ? addAuditWrites(ctx, writes, {
        actor,
        action: "user.update",
        target: id,
        userId: id,
        changes,
      })
      : null;
    return await ctx.commits.commit(writes)
      ? { before: entry.value, saved: next, audit }
      : CONFLICT;
  });
  ctx.sessionCache.rememberUser(saved);
  if (audit) ctx.bus.publish(audit);
  if (saved.status !== "active") {
    const now = ctx.clock.now();
    const families = await listSessionsOfUser(ctx.kv, id, now);
    await Promise.all(families.map(async (family) => {
      await revokeSession(ctx.kv, family, now);
      ctx.sessionCache.forgetSession(family);
    }));
    await takeOffline(ctx, id);
  }
  const account = adminAccount(saved);
  if (
    before.status !== saved.status || before.role !== saved.role ||
    adminAccount(before).suspended_until !== account.suspended_until
  ) {
    await emitEvent(ctx, "user", "user.updated", {
      user_id: id,
      status: saved.status,
      role: saved.role,
      previous_status: before.status,
      suspended_until: account.suspended_until,
      by: actor.userId ?? actor.apiKeyId,
    });
  }
  ctx.log.info("user updated", { user_id: id, status: saved.status, role: saved.role });
  return account;
}
