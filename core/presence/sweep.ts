import { addDueDrop, addDueMove, dueMinuteOf, listDueUsers } from "../../kv/presence.ts";
import { Writes } from "../../kv/writes.ts";
import type { PresenceContext } from "./context.ts";
import { settlePresence } from "./offline.ts";
import { factsOf, offlineFrom, timeoutMs } from "./status.ts";

/** Sweep entries handled per page. */
const SWEEP_PAGE = 200;

/**
 * The durable backstop of the in-process deadlines, run by `Deno.cron` every minute: reads
 * only the sweep entries of minutes that passed — users whose silence ran out, or moved on
 * (their entry is refiled) — never every user online. Returns how many went offline.
 */
export async function sweepPresence(ctx: PresenceContext): Promise<number> {
  const now = ctx.clock.now();
  const timeout = await timeoutMs(ctx);
  let settled = 0;
  for (;;) {
    const due = await listDueUsers(ctx.kv, { upTo: now, limit: SWEEP_PAGE });
    if (due.length === 0) return settled;
    const results = await Promise.all(due.map(async ({ minute, userId }) => {
      const offline = await settlePresence(ctx, userId);
      if (offline) return true;
      // Still online: its entry is refiled where its silence now runs out.
      const record = await ctx.presence.cache.fresh(userId);
      const writes = new Writes();
      if (record.state.value?.online && record.seen !== null) {
        const to = dueMinuteOf(offlineFrom(factsOf(record), timeout));
        addDueDrop(writes, userId, minute, null);
        addDueMove(writes, userId, record.dueMinute === minute ? null : record.dueMinute, to);
      } else {
        addDueDrop(writes, userId, minute, record.dueMinute);
      }
      await ctx.commits.commit(writes);
      ctx.presence.cache.forget(userId);
      return false;
    }));
    settled += results.filter(Boolean).length;
    if (due.length < SWEEP_PAGE) return settled;
  }
}
