import { readOnlineCount } from "../../kv/presence.ts";
import { deleteStatsBefore, listStatCounts, MINUTE_MS, minuteOf } from "../../kv/stats.ts";
import { readUserCount } from "../../kv/users.ts";
import type { ChannelHealth, ChannelName } from "../delivery/channel.ts";
import type { DeliveryRouter } from "../delivery/router.ts";
import type { Services } from "../services.ts";

/** Minutes the stats cover: the current one and the 59 before it. */
export const STATS_WINDOW_MINUTES = 60;

/** How long per-minute counters are kept (the cron job deletes older ones). */
export const STATS_RETENTION_MS = 2 * 3_600_000;

/** Code-sign-in counts over the stats window (what each counts: `countsOfOtpEvent`). */
export interface OtpCounts {
  requested: number;
  sent: number;
  verified: number;
  failed: number;
  rate_limited: number;
}

/** One minute of the series. */
export interface StatsMinute {
  /** The minute's start, ISO-8601. */
  minute: string;
  requested: number;
  verified: number;
  /** Users online at the end of that minute (for the current minute: now). */
  online: number;
}

/** The answer of `GET /api/v1/admin/stats`. */
export interface AdminStats {
  users: { total: number; online: number };
  otp: OtpCounts;
  series: StatsMinute[];
  /** How each channel has been doing, as this instance saw it. */
  channels: Record<ChannelName, ChannelHealth>;
}

/**
 * The admin dashboard's numbers: user totals from counters (never a scan), code counts of the
 * last 60 minutes and a per-minute series, all from one range read of the minute counters.
 */
export async function readAdminStats(
  ctx: Services & { delivery: DeliveryRouter },
): Promise<AdminStats> {
  const now = ctx.clock.now();
  const last = minuteOf(now);
  const first = last - (STATS_WINDOW_MINUTES - 1) * MINUTE_MS;
  const [counts, online, total] = await Promise.all([
    listStatCounts(ctx.kv, { first, last }),
    readOnlineCount(ctx.kv),
    readUserCount(ctx.kv),
  ]);

  const otp: OtpCounts = { requested: 0, sent: 0, verified: 0, failed: 0, rate_limited: 0 };
  const series: StatsMinute[] = new Array(STATS_WINDOW_MINUTES);
  // The online count of a past minute is not sampled: it is worked back from the live counter
  // by undoing, minute by minute, the transitions counted since (they move the counter in the
  // same commit). So it is exact, costs no job or extra write, and agrees across instances.
  let onlineAtEnd = online;
  for (let i = STATS_WINDOW_MINUTES - 1; i >= 0; i--) {
    const minute = first + i * MINUTE_MS;
    const c = counts.get(minute) ?? {};
    series[i] = {
      minute: new Date(minute).toISOString(),
      requested: c.requested ?? 0,
      verified: c.verified ?? 0,
      online: Math.max(0, onlineAtEnd),
    };
    onlineAtEnd -= (c.went_online ?? 0) - (c.went_offline ?? 0);
    for (const metric of Object.keys(otp) as (keyof OtpCounts)[]) otp[metric] += c[metric] ?? 0;
  }

  return { users: { total, online }, otp, series, channels: ctx.delivery.health() };
}

/** Deletes per-minute counters past the retention (run by cron). Returns how many went. */
export function pruneStats(ctx: Services): Promise<number> {
  return deleteStatsBefore(ctx.kv, minuteOf(ctx.clock.now() - STATS_RETENTION_MS));
}
