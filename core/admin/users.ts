import { listOnlineUserIds } from "../../kv/presence.ts";
import { listFamiliesOfUser, revokeFamily } from "../../kv/sessions.ts";
import {
  findUserIdsByPrefix,
  getUserEntry,
  getUsers,
  listUsers,
  saveUser,
  type User,
  type UserRole,
  type UserStatus,
} from "../../kv/users.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { normalizePhone } from "../auth/recipients.ts";
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

/** A user with presence joined in, as the admin list shows it. */
export type AdminUser = PublicUser & { presence: Omit<PresenceView, "user_id"> };

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
 * The admin list: all users in creation order, only the online ones (from the online index,
 * never a scan of all users), or only the offline ones; or a search by id, phone or email
 * prefix. `cursor` continues where the last page stopped.
 */
export async function listAdminUsers(
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
    const page = await listOnlineUserIds(ctx.kv, { cursor: query.cursor, limit: query.limit });
    const users = [...(await getUsers(ctx.kv, page.ids)).values()];
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

async function searchUsers(ctx: Services, q: string, limit: number): Promise<User[]> {
  const term = q.trim();
  const ids = new Set<string>();
  if (/^usr_[0-9A-Z]{26}$/i.test(term)) ids.add(term);
  const phone = normalizePhone(term);
  const prefix = phone ??
    (term.startsWith("+") ? term.replace(/[\s\-().]/g, "") : term.toLowerCase());
  for (const id of await findUserIdsByPrefix(ctx.kv, prefix, limit)) ids.add(id);
  const users = await getUsers(ctx.kv, [...ids]);
  return [...users.values()].sort((a, b) => a.id.localeCompare(b.id)).slice(0, limit);
}

function adminUser(user: User, presence: PresenceView): AdminUser {
  return {
    ...publicUser(user),
    presence: { status: presence.status, last_seen: presence.last_seen },
  };
}

/**
 * Changes a user's status or role. Leaving `active` ends every sign-in of the user, takes
 * them offline and (through the `user.updated` event) closes their sockets on every instance.
 */
export async function updateUser(
  ctx: PresenceContext,
  id: string,
  patch: { status?: UserStatus; role?: UserRole },
): Promise<PublicUser> {
  const { before, saved } = await retry(`update user "${id}"`, async () => {
    const entry = await getUserEntry(ctx.kv, id);
    if (!entry.value) throw new AppError("NOT_FOUND", `No user "${id}".`);
    const next: User = { ...entry.value, ...patch, updatedAt: ctx.clock.now() };
    return await saveUser(ctx.kv, next, entry) ? { before: entry.value, saved: next } : CONFLICT;
  });
  ctx.signIns.rememberUser(saved);
  if (saved.status !== "active") {
    const now = ctx.clock.now();
    const families = await listFamiliesOfUser(ctx.kv, id, now);
    await Promise.all(families.map(async (family) => {
      await revokeFamily(ctx.kv, family, now);
      ctx.signIns.forgetFamily(family);
    }));
    await takeOffline(ctx, id);
  }
  if (before.status !== saved.status || before.role !== saved.role) {
    await emitEvent(ctx, "user", "user.updated", {
      user_id: id,
      status: saved.status,
      role: saved.role,
      previous_status: before.status,
    });
  }
  ctx.log.info("user updated", { user_id: id, status: saved.status, role: saved.role });
  return publicUser(saved);
}
