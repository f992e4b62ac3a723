import {
  addErasureStart,
  commitErasureEnd,
  deleteKeys,
  eachRefreshTokenOf,
  eachSessionOf,
  ERASE_PREFIXES,
  keysNamingUsers,
  listKeys,
  listUserDeletions,
  listUserEventEntries,
  readErasureStart,
  readRecipients,
  requestKeys,
  sessionKeysOf,
  telegramLinkKeys,
  type UserDeletion,
  userPrefixes,
} from "../../kv/erasure.ts";
import { eraseUserFromLog } from "../../kv/event_log.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import type { User } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { type Actor, addAuditWrites } from "../admin/audit.ts";
import { limitKeyOf, type Recipient } from "../auth/recipients.ts";
import type { Caller } from "../auth/sessions.ts";
import { AppError } from "../errors.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import type { PresenceContext } from "../presence/presence.ts";

/** How long after a sign-in with a code its session may delete the account (README, "Export and erasure"). */
export const REAUTH_WINDOW_MS = 10 * 60_000;
/**
 * The erasure's record stays this long at least, so its last pass comes after every instance
 * closed the user's sockets (within 1 s) and recorded them offline, and removes that too.
 */
export const ERASURE_SETTLE_MS = 5_000;
/** Sessions the first commit deletes itself (3 mutations each, far below KV's 1,000). */
const FIRST_COMMIT_SESSIONS = 200;
/** Records read per batch of the later steps. */
const PAGE = 500;
/** Erasures one sweep resumes at most. */
const SWEEP_LIMIT = 100;

/**
 * `DELETE /api/v1/me`: the caller erases their own account, if their session was opened by
 * a code less than 10 minutes ago (a refresh does not renew that); else 403 `REAUTH_REQUIRED`.
 */
export async function eraseOwnAccount(ctx: PresenceContext, caller: Caller): Promise<void> {
  const session = await ctx.sessionCache.family(caller.claims.sid);
  if (!session || ctx.clock.now() - session.createdAt >= REAUTH_WINDOW_MS) {
    throw new AppError(
      "REAUTH_REQUIRED",
      "Deleting the account needs a fresh sign-in: sign in again with a code, then retry.",
    );
  }
  await eraseUser(ctx, caller.user.id, null);
}

/** `DELETE /api/v1/admin/users/:id`: an admin or key erases a user, audited as `user.delete`. */
export async function eraseUserByAdmin(
  ctx: PresenceContext,
  userId: string,
  actor: Actor,
): Promise<void> {
  await eraseUser(ctx, userId, actor);
}

async function eraseUser(ctx: PresenceContext, userId: string, actor: Actor | null) {
  const deletion = await startErasure(ctx, userId, actor);
  try {
    await continueErasure(ctx, deletion);
  } catch (error) {
    // The user is gone already (the first commit): what is left is the sweep's to finish.
    ctx.log.warn("account erasure left to the sweep", { user_id: userId, error: String(error) });
  }
}

/**
 * The first commit: the user record and its sign-in indexes, their sessions, presence and
 * counters go at once, with the erasure's record (the work left), one `user.deleted` event (id
 * only) and the audit entry. From then on the phone or email signs up as a new user, no token
 * of theirs authenticates anywhere (the event drops cached copies and closes sockets, 4001),
 * and a crash leaves the rest to the sweep. 404 for an unknown (or already erased) user.
 */
async function startErasure(
  ctx: PresenceContext,
  userId: string,
  actor: Actor | null,
): Promise<UserDeletion> {
  const started = await retry(`erase "${userId}"`, async () => {
    const now = ctx.clock.now();
    const start = await readErasureStart(ctx.kv, userId, FIRST_COMMIT_SESSIONS);
    const user = start.user.value;
    if (!user) throw new AppError("NOT_FOUND", `No user "${userId}".`);
    const deletion: UserDeletion = {
      userId,
      startedAt: now,
      recipients: recipientsOf(user).map(limitKeyOf),
      phone: user.phone,
      telegramId: user.telegramId,
    };
    const writes = addErasureStart(new Writes(), start, deletion);
    const events: LiveEvent[] = [];
    if (actor) {
      events.push(addAuditWrites(ctx, writes, {
        actor,
        action: "user.delete",
        target: userId,
        userId,
        changes: { user: { from: userId, to: null } },
      }));
    }
    const deleted = ctx.bus.newEvent("user", "user.deleted", now, { user_id: userId });
    addEventWrites(writes, deleted, now);
    events.push(deleted);
    if (!await ctx.commits.commit(writes)) return CONFLICT;
    return { deletion, events, sessionIds: start.sessionIds };
  });
  ctx.sessionCache.forgetUser(userId);
  for (const id of started.sessionIds) ctx.sessionCache.forgetSession(id);
  ctx.presence.cache.forget(userId);
  ctx.presence.deadlines.cancel(userId);
  ctx.bus.publish(...started.events);
  ctx.log.info("account erasure started", { user_id: userId });
  return started.deletion;
}

function recipientsOf(user: User): Recipient[] {
  const out: Recipient[] = [];
  if (user.phone) out.push({ kind: "phone", value: user.phone });
  if (user.email) out.push({ kind: "email", value: user.email });
  if (user.telegramId) out.push({ kind: "telegram", value: user.telegramId });
  return out;
}

/**
 * The rest of an erasure that the user's own indexes find, in bounded commits, each step safe
 * to run again: sessions, logged events about the user and the code requests and deliveries
 * they name, recipients' records, Telegram links. What only a pass over a whole collection
 * finds (refresh tokens, dashboard sessions, socket tickets) is the sweep's, once for every
 * erasure pending (`resumeErasures`), so a request never waits on a scan that grows with the
 * deployment.
 */
async function continueErasure(ctx: PresenceContext, deletion: UserDeletion): Promise<void> {
  const { userId } = deletion;
  const prefixes = userPrefixes(userId);
  for (;;) {
    const left = await listKeys(ctx.kv, prefixes.sessions, PAGE);
    if (left.length === 0) break;
    const ids = left.map((key) => String(key[key.length - 1]));
    await deleteKeys(ctx.kv, ids.flatMap((id) => sessionKeysOf(userId, id)));
  }
  // Events first name the code requests; those go with each page, before the events.
  const recipients = await readRecipients(ctx.kv, deletion.recipients);
  await deleteKeys(ctx.kv, await requestKeys(ctx.kv, recipients.requestIds));
  for (;;) {
    const entries = await listUserEventEntries(ctx.kv, userId, PAGE);
    if (entries.length === 0) break;
    const requestIds = entries.flatMap((entry) => entry.events).map((e) => e.data.request_id)
      .filter((id): id is string => typeof id === "string");
    await deleteKeys(ctx.kv, await requestKeys(ctx.kv, requestIds));
    // The log entries first: the per-user ones name them, so a crash in between loses none.
    const logIds = entries.map((entry) => entry.logId);
    await eraseUserFromLog(ctx.kv, userId, logIds, kept, ctx.clock.now());
    await deleteKeys(ctx.kv, entries.map((entry) => entry.key));
  }
  await deleteKeys(ctx.kv, [
    ...recipients.keys,
    ...await telegramLinkKeys(ctx.kv, deletion.phone, deletion.telegramId),
  ]);
}

/**
 * What only a pass over a whole collection finds, for every erasure pending at once: the
 * users' stored refresh tokens (of before `rt2`), every session the index missed (revoked ones
 * leave it), dashboard sessions and socket tickets.
 */
async function eraseScattered(ctx: PresenceContext, userIds: ReadonlySet<string>): Promise<void> {
  const tokens: Deno.KvKey[] = [];
  const sessions = new Map<string, string>(); // session id → user id
  for await (const token of eachRefreshTokenOf(ctx.kv, userIds)) {
    tokens.push(token.key);
    sessions.set(token.familyId, token.userId);
    if (tokens.length >= PAGE) await deleteKeys(ctx.kv, tokens.splice(0));
  }
  // Sessions whose tokens name them have no token to find them by: their records do.
  for await (const session of eachSessionOf(ctx.kv, userIds)) {
    sessions.set(session.sessionId, session.userId);
  }
  await deleteKeys(ctx.kv, [
    ...tokens,
    ...[...sessions].flatMap(([sessionId, userId]) => sessionKeysOf(userId, sessionId)),
    ...await keysNamingUsers(ctx.kv, ERASE_PREFIXES.dashboardSessions, userIds),
    ...await keysNamingUsers(ctx.kv, ERASE_PREFIXES.socketTickets, userIds),
  ]);
}

/**
 * What stays in the event log of an erased user: the `user.deleted` event and admins' audit
 * events, which name the id only (as the audit log does).
 */
function kept(event: { kind?: string; data: Record<string, unknown> }): boolean {
  return event.data.type === "user.deleted" || event.kind === "audit";
}

/**
 * The cron's (and start-up's) sweep: every erasure left in progress — by a crash, or waiting
 * for its last pass — is taken on again. Idempotent: two instances may run it at once.
 * Returns how many it finished.
 */
export async function resumeErasures(ctx: PresenceContext): Promise<number> {
  const pending = await listUserDeletions(ctx.kv, SWEEP_LIMIT);
  if (pending.length === 0) return 0;
  for (const deletion of pending) await continueErasure(ctx, deletion);
  await eraseScattered(ctx, new Set(pending.map((deletion) => deletion.userId)));
  let finished = 0;
  for (const { userId, startedAt } of pending) {
    // The last pass comes after every instance closed the user's sockets and recorded them
    // offline; a later sweep ends the erasures that are younger.
    if (ctx.clock.now() - startedAt < ERASURE_SETTLE_MS) continue;
    // Another instance may have finished it since the list was read: ending it twice is harmless.
    await retry(`end the erasure of "${userId}"`, async () => {
      return await commitErasureEnd(ctx.kv, userId) ? true : CONFLICT;
    });
    ctx.presence.cache.forget(userId);
    ctx.log.info("account erased", { user_id: userId });
    finished++;
  }
  return finished;
}
