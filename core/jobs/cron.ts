import { resumeErasures } from "../account/erase.ts";
import { endDueSuspensions } from "../admin/suspensions.ts";
import { type PresenceContext, sweepPresence } from "../presence/presence.ts";
import { pruneCounters } from "./prune.ts";

/** What the jobs use: presence, and the Telegram deleter when there is a bot. */
export interface CronContext extends PresenceContext {
  telegram: { deleter: { sweep(): Promise<number> } } | null;
}

/** A background job `main.ts` registers with `Deno.cron` (once a minute is the finest grain). */
export interface CronJob {
  name: string;
  schedule: string;
  run(ctx: CronContext): Promise<void>;
}

/** Every cron job. Each is idempotent: two instances may run the same minute. */
export const CRON_JOBS: CronJob[] = [
  {
    name: "presence sweep",
    schedule: "* * * * *",
    async run(ctx) {
      const offline = await sweepPresence(ctx);
      if (offline > 0) ctx.log.info("presence sweep", { offline });
    },
  },
  {
    // Exact at sign-in (verify lifts a suspension whose end has come); here for everyone else.
    name: "suspension ends",
    schedule: "* * * * *",
    async run(ctx) {
      const ended = await endDueSuspensions(ctx);
      if (ended > 0) ctx.log.info("suspension sweep", { ended });
    },
  },
  {
    // An erasure a crash left halfway (or waiting for its last pass) is finished here.
    name: "account erasures",
    schedule: "* * * * *",
    async run(ctx) {
      const finished = await resumeErasures(ctx);
      if (finished > 0) ctx.log.info("account erasure sweep", { finished });
    },
  },
  {
    name: "telegram deletes",
    schedule: "* * * * *",
    async run(ctx) {
      const deleted = await ctx.telegram?.deleter.sweep() ?? 0;
      if (deleted > 0) ctx.log.info("telegram delete sweep", { deleted });
    },
  },
  {
    // Events left in the outbox (a restart, another instance, retries coming due) go out.
    name: "event webhooks",
    schedule: "* * * * *",
    async run(ctx) {
      const taken = await ctx.webhooks?.sweep() ?? 0;
      if (taken > 0) ctx.log.info("event webhook sweep", { taken });
    },
  },
  {
    // Summed counters (stats, per-IP, per-range, webhook counts, test recipients' wrong codes)
    // keep no `expireIn`: old buckets go here.
    name: "counters prune",
    schedule: "* * * * *",
    async run(ctx) {
      const deleted = await pruneCounters(ctx);
      if (deleted > 0) ctx.log.debug("counters prune", { deleted });
    },
  },
];
