import {
  addSetPresenceContacts,
  getPresenceContacts,
  getUserAndPresenceContacts,
} from "../../kv/presence_contacts.ts";
export { MAX_PRESENCE_CONTACTS } from "../../kv/presence_contacts.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { addSaveUser, getUserEntry, type PresenceVisibility, type User } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { type Actor, addAuditWrites } from "../admin/audit.ts";
import { AppError } from "../errors.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import type { PresenceContext } from "./context.ts";
import { SIGHT_CHANGED } from "./visibility.ts";

/*
 * Changing who sees a user (README, "Who sees you online"): the visibility in the user record, the
 * contacts in one record of their own. Each change commits with its `SIGHT_CHANGED` event,
 * which makes every instance drop its copies and re-decide what open sockets see.
 */

/** Sets a user's presence visibility; a change announces itself to every instance. */
export async function setPresenceVisibility(
  ctx: PresenceContext,
  userId: string,
  visibility: PresenceVisibility,
): Promise<User> {
  const { user, event } = await retry(`set "${userId}"'s presence visibility`, async () => {
    const entry = await getUserEntry(ctx.kv, userId);
    if (!entry.value) throw new AppError("NOT_FOUND", `No user "${userId}".`);
    if ((entry.value.presenceVisibility ?? "everyone") === visibility) {
      return { user: entry.value, event: null };
    }
    const now = ctx.clock.now();
    const next: User = { ...entry.value, presenceVisibility: visibility, updatedAt: now };
    const writes = addSaveUser(new Writes(), next, entry);
    const event = sightEvent(ctx, userId, { presence_visibility: visibility, by: userId });
    addEventWrites(writes, event, now);
    return await ctx.commits.commit(writes) ? { user: next, event } : CONFLICT;
  });
  if (event) {
    ctx.sessionCache.rememberUser(user);
    ctx.bus.publish(event);
  }
  return user;
}

/** A user's presence contacts, as stored (empty when none were set). */
export async function readPresenceContacts(
  ctx: PresenceContext,
  userId: string,
): Promise<string[]> {
  return (await getPresenceContacts(ctx.kv, userId)).value ?? [];
}

/**
 * Replaces a user's presence contacts with `userIds` (first occurrence kept, duplicates
 * dropped; ids nobody has are kept as ids, so the answer tells nothing about who exists).
 * By the user themselves, or by an admin or API key (`actor`): then the user must exist
 * (404) and the change is audited (`user.presence_contacts`) in the same commit.
 */
export async function setPresenceContacts(
  ctx: PresenceContext,
  userId: string,
  userIds: readonly string[],
  actor?: Actor,
): Promise<string[]> {
  const contacts = [...new Set(userIds)];
  const events = await retry(`set "${userId}"'s presence contacts`, async () => {
    const read = await getUserAndPresenceContacts(ctx.kv, userId);
    if (!read.user.value) throw new AppError("NOT_FOUND", `No user "${userId}".`);
    const before = read.contacts.value ?? [];
    if (sameList(before, contacts)) return [];
    const now = ctx.clock.now();
    const writes = addSetPresenceContacts(new Writes().check(read.contacts), userId, contacts);
    const out: LiveEvent[] = [];
    if (actor) {
      out.push(addAuditWrites(ctx, writes, {
        actor,
        action: "user.presence_contacts",
        target: userId,
        userId,
        // Counts, not the lists: up to a thousand ids each would swamp the audit log.
        changes: { presence_contacts: { from: before.length, to: contacts.length } },
      }));
    }
    const event = sightEvent(ctx, userId, {
      presence_visibility: read.user.value.presenceVisibility ?? "everyone",
      contacts_changed: true,
      by: actor ? actor.userId ?? actor.apiKeyId : userId,
    });
    addEventWrites(writes, event, now);
    out.push(event);
    return await ctx.commits.commit(writes) ? out : CONFLICT;
  });
  if (events.length > 0) {
    ctx.presence.visibility.remember(userId, contacts);
    ctx.bus.publish(...events);
  }
  return contacts;
}

function sightEvent(ctx: PresenceContext, userId: string, fields: Record<string, unknown>) {
  return ctx.bus.newEvent("user", SIGHT_CHANGED, ctx.clock.now(), { user_id: userId, ...fields });
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
