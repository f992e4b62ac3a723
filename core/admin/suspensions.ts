import { CONFLICT, retry } from "../../kv/retry.ts";
import {
  addDropSuspensionEnd,
  addSaveUser,
  getUserEntry,
  listDueSuspensions,
  type User,
} from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError } from "../errors.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";
import { type Actor, addAuditWrites } from "./audit.ts";

/** A suspension may be set to end at most this far ahead. */
export const MAX_SUSPENSION_MS = 366 * 24 * 3_600_000;

/** Who ends a suspension whose time ran out: Doorman itself, not an admin. */
export const SYSTEM_ACTOR: Actor = { userId: "system", ip: "" };

/** Due suspensions read per page of the sweep. */
const SWEEP_PAGE = 100;

/** Whether a user's suspension had an end and it has come: they count as active again. */
export function suspensionOver(user: User, now: number): boolean {
  return user.status === "suspended" && !!user.suspendedUntil && user.suspendedUntil <= now;
}

/**
 * The end of a suspension an admin asked for (`suspended_until`, ISO-8601), in ms: it must
 * lie ahead, and at most 366 days ahead. 400 `VALIDATION_FAILED` otherwise.
 */
export function suspensionEndOf(until: string, now: number): number {
  const at = Date.parse(until);
  const problem = !(at > now)
    ? "must lie in the future"
    : at - now > MAX_SUSPENSION_MS
    ? "must be at most 366 days ahead"
    : null;
  if (problem) {
    throw new AppError("VALIDATION_FAILED", `A suspension's end ${problem}.`, {
      details: [{ path: "suspended_until", message: problem }],
    });
  }
  return at;
}

/**
 * Ends a suspension whose time has come: the user as they are once active again, with the
 * audit entry (actor `system`) and the `user.updated` event added to `writes`, the commit
 * that saves them. Returns the events to publish once it went through.
 */
export function addSuspensionEnd(
  ctx: Services,
  writes: Writes,
  user: User,
): { user: User; events: LiveEvent[] } {
  const now = ctx.clock.now();
  const active: User = { ...user, status: "active", suspendedUntil: null, updatedAt: now };
  const until = new Date(user.suspendedUntil!).toISOString();
  const audit = addAuditWrites(ctx, writes, {
    actor: SYSTEM_ACTOR,
    action: "user.update",
    target: user.id,
    userId: user.id,
    changes: {
      status: { from: "suspended", to: "active" },
      suspended_until: { from: until, to: null },
    },
  });
  const updated = ctx.bus.newEvent("user", "user.updated", now, {
    user_id: user.id,
    status: "active",
    role: user.role,
    previous_status: "suspended",
    suspended_until: null,
    reason: "suspension_ended",
  });
  addEventWrites(writes, updated, now);
  return { user: active, events: [audit, updated] };
}

/**
 * The cron's sweep: every suspension whose end has come is lifted, read from the index of
 * ends by time (only the due ones), each in one commit with its audit entry, guarded by the
 * user's versionstamp so instances sweeping at once lift it once. Returns how many it lifted.
 */
export async function endDueSuspensions(ctx: Services): Promise<number> {
  const now = ctx.clock.now();
  let ended = 0;
  for (;;) {
    const due = await listDueSuspensions(ctx.kv, { now, limit: SWEEP_PAGE });
    for (const entry of due) {
      const lifted = await retry(`end the suspension of "${entry.userId}"`, async () => {
        const user = await getUserEntry(ctx.kv, entry.userId);
        const writes = new Writes();
        if (
          !user.value || !suspensionOver(user.value, now) ||
          user.value.suspendedUntil !== entry.endsAt
        ) {
          // The user changed since (lifted by a sign-in, another instance, an admin).
          addDropSuspensionEnd(writes.check(user), entry);
          return await ctx.commits.commit(writes) ? null : CONFLICT;
        }
        const end = addSuspensionEnd(ctx, writes, user.value);
        addSaveUser(writes, end.user, user);
        return await ctx.commits.commit(writes) ? end : CONFLICT;
      });
      if (!lifted) continue;
      ctx.sessionCache.rememberUser(lifted.user);
      ctx.bus.publish(...lifted.events);
      ctx.log.info("suspension ended", { user_id: entry.userId });
      ended++;
    }
    if (due.length < SWEEP_PAGE) return ended;
  }
}
