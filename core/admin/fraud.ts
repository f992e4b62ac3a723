import { addAudit, type AuditEntry } from "../../kv/audit.ts";
import { type Actor, auditFields } from "./audit.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import {
  getRangeBlock,
  listBlockedRanges,
  type RangeBlock,
  readSmsToday,
} from "../../kv/sms_protection.ts";
import { Writes } from "../../kv/writes.ts";
import { LIFT_MS, type SmsProtection } from "../delivery/sms_protection.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { addEventWrites } from "../live/emit.ts";
import type { Services } from "../services.ts";

/** A blocked number range as the admin API shows it. */
export interface BlockedPrefixView {
  prefix: string;
  until: string;
  reason: string;
  sent: number;
  verified: number;
}

/** `GET /api/v1/admin/fraud`: the blocked ranges and today's SMS against the budget. */
export async function readFraud(ctx: Services): Promise<{
  blocked_prefixes: BlockedPrefixView[];
  sms_today: number;
  sms_daily_limit: number | null;
}> {
  const now = ctx.clock.now();
  const [blocks, today] = await Promise.all([
    listBlockedRanges(ctx.kv, now),
    readSmsToday(ctx.kv, now),
  ]);
  return {
    blocked_prefixes: blocks.map((block) => ({
      prefix: block.prefix,
      until: new Date(block.until).toISOString(),
      reason: block.reason,
      sent: block.sent,
      verified: block.verified,
    })),
    sms_today: today,
    sms_daily_limit: ctx.config.smsProtection.dailyLimit,
  };
}

/**
 * Lifts a range's block: SMS to it go out again, and for the next hour its unused codes do
 * not block it again (the hour that blocked it would at once). Audited as
 * `fraud.prefix_unblock` in the same commit. 404 when the range is not blocked.
 */
export async function liftBlock(
  ctx: Services & { smsProtection: SmsProtection },
  prefix: string,
  actor: Actor,
): Promise<void> {
  const entry = await retry(`lift the block of ${prefix}`, async () => {
    const now = ctx.clock.now();
    const current = await getRangeBlock(ctx.kv, prefix);
    const block = current.value;
    if (!block || block.status !== "blocked" || block.until <= now) return null;
    const lifted: RangeBlock = { ...block, status: "lifted", until: now + LIFT_MS, at: now };
    const audit: AuditEntry = {
      id: newId("aud", now),
      at: now,
      actor,
      action: "fraud.prefix_unblock",
      target: prefix,
      changes: {
        status: { from: "blocked", to: "lifted" },
        until: { from: new Date(block.until).toISOString(), to: null },
      },
    };
    const event = ctx.bus.newEvent("audit", "fraud.prefix_unblock", now, auditFields(audit));
    const writes = new Writes().check(current).set(current.key, lifted, { expireIn: LIFT_MS });
    addAudit(writes, audit);
    addEventWrites(writes, event, now);
    return await ctx.commits.commit(writes) ? { audit, event } : CONFLICT;
  });
  if (!entry) throw new AppError("NOT_FOUND", `The number range ${prefix} is not blocked.`);
  ctx.smsProtection.forget(prefix);
  ctx.bus.publish(entry.event);
  ctx.log.info("number range unblocked", { prefix, by: actor.userId });
}
