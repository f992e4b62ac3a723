import { pruneIpCounters } from "../../kv/limits.ts";
import { pruneSmsCounters } from "../../kv/sms_protection.ts";
import { pruneTestRecipientFailures } from "../../kv/test_recipients.ts";
import { pruneWebhookCounts } from "../../kv/event_webhooks.ts";
import { pruneStats } from "../admin/stats.ts";
import type { Services } from "../services.ts";
import { GIVE_UP_MS } from "../event_webhooks/outbox.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Every family of summed counters keyed by time, and how long it is kept. `sum` takes no
 * `expireIn`, so without a pruner here a family grows forever; tests/kv/prune_test.ts fails
 * for a summed family in kv/ that is missing.
 */
const PRUNERS: { name: string; run(ctx: Services, now: number): Promise<number> }[] = [
  // Per-minute counters two hours, per-hour ones eight days (the dashboard's ranges).
  { name: "stats", run: (ctx) => pruneStats(ctx) },
  // The per-IP limits read the last hour.
  { name: "ip counters", run: (ctx, now) => pruneIpCounters(ctx.kv, now - 2 * HOUR_MS) },
  // A range's cap and block read its last hour; the daily budget today (yesterday is kept).
  { name: "sms counters", run: (ctx, now) => pruneSmsCounters(ctx.kv, now - 2 * HOUR_MS) },
  // The admin status shows the last 24 h of deliveries.
  { name: "webhook counts", run: (ctx, now) => pruneWebhookCounts(ctx.kv, now - 2 * GIVE_UP_MS) },
  // A test recipient's wrong codes count for today; yesterday's is kept.
  {
    name: "test recipient failures",
    run: (ctx, now) => pruneTestRecipientFailures(ctx.kv, now - DAY_MS),
  },
];

/**
 * Deletes summed counters past their time (the "counters prune" cron job). One failing
 * pruner does not stop the others; its error is thrown once they ran. Returns how many went.
 */
export async function pruneCounters(ctx: Services): Promise<number> {
  const now = ctx.clock.now();
  let deleted = 0;
  const errors: unknown[] = [];
  for (const pruner of PRUNERS) {
    try {
      deleted += await pruner.run(ctx, now);
    } catch (error) {
      errors.push(new Error(`${pruner.name}: ${String(error)}`, { cause: error }));
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, "counters prune failed");
  return deleted;
}
