import { readOnlineCount } from "../../kv/presence.ts";
import {
  deleteHourlyStatsBefore,
  deleteStatsBefore,
  funnelMetric,
  type FunnelStep,
  HOUR_MS,
  hourOf,
  listHourlyStatCounts,
  listStatCounts,
  MINUTE_MS,
  type MinuteCounts,
  minuteOf,
} from "../../kv/stats.ts";
import { readUserCount } from "../../kv/users.ts";
import type { ChannelHealth, ChannelName } from "../delivery/channel.ts";
import type { DeliveryRouter } from "../delivery/router.ts";
import type { Services } from "../services.ts";

/** Minutes the stats cover: the current one and the 59 before it. */
export const STATS_WINDOW_MINUTES = 60;

/** How long per-minute counters are kept (the cron job deletes older ones). */
export const STATS_RETENTION_MS = 2 * 3_600_000;

/** How long per-hour counters are kept: a week and a day, so 7 days are always whole. */
export const HOURLY_STATS_RETENTION_MS = 8 * 86_400_000;

/** The periods the stats can cover: buckets of a minute for an hour, of an hour for more. */
export const STATS_RANGES = {
  "1h": { bucketMs: MINUTE_MS, buckets: STATS_WINDOW_MINUTES },
  "24h": { bucketMs: HOUR_MS, buckets: 24 },
  "7d": { bucketMs: HOUR_MS, buckets: 7 * 24 },
} as const;

/** A period `GET /api/v1/admin/stats?range=` accepts. */
export type StatsRange = keyof typeof STATS_RANGES;

/** Code-sign-in counts over the stats window (what each counts: `countsOfOtpEvent`). */
export interface OtpCounts {
  requested: number;
  sent: number;
  verified: number;
  failed: number;
  rate_limited: number;
}

/** One bucket of the series: a minute (range 1h) or an hour (24h, 7d). */
export interface StatsMinute {
  /** The bucket's start, ISO-8601 (the name is the 1h series' own; kept for every range). */
  minute: string;
  /** The bucket's start, ISO-8601. */
  at: string;
  requested: number;
  verified: number;
  /** Users online at the end of that bucket (for the current one: now). */
  online: number;
}

/** One channel's sign-in funnel over the range. */
export type FunnelCounts = Record<FunnelStep, number>;

/** The answer of `GET /api/v1/admin/stats`. */
export interface AdminStats {
  users: { total: number; online: number };
  otp: OtpCounts;
  series: StatsMinute[];
  /** Requested, sent and verified per channel over the range. */
  funnel: Record<ChannelName, FunnelCounts>;
  /** How each channel has been doing, as this instance saw it. */
  channels: Record<ChannelName, ChannelHealth>;
}

const CHANNELS: readonly ChannelName[] = ["sms", "telegram", "email"];
const STEPS: readonly FunnelStep[] = ["requested", "sent", "verified"];

/**
 * The admin dashboard's numbers: user totals from counters (never a scan), and code counts,
 * a series and the per-channel funnel over `range`, all from one range read of the minute
 * counters (1h) or the hour counters (24h, 7d).
 */
export async function readAdminStats(
  ctx: Services & { delivery: DeliveryRouter },
  range: StatsRange = "1h",
): Promise<AdminStats> {
  const { bucketMs, buckets } = STATS_RANGES[range];
  const now = ctx.clock.now();
  const last = bucketMs === MINUTE_MS ? minuteOf(now) : hourOf(now);
  const first = last - (buckets - 1) * bucketMs;
  const [counts, online, total] = await Promise.all([
    bucketMs === MINUTE_MS
      ? listStatCounts(ctx.kv, { first, last })
      : listHourlyStatCounts(ctx.kv, { first, last }),
    readOnlineCount(ctx.kv),
    readUserCount(ctx.kv),
  ]);

  const otp: OtpCounts = { requested: 0, sent: 0, verified: 0, failed: 0, rate_limited: 0 };
  const funnel = Object.fromEntries(
    CHANNELS.map((channel) => [channel, { requested: 0, sent: 0, verified: 0 }]),
  ) as Record<ChannelName, FunnelCounts>;
  const series: StatsMinute[] = new Array(buckets);
  // The online count of a past bucket is not sampled: it is worked back from the live counter
  // by undoing, bucket by bucket, the transitions counted since (they move the counter in the
  // same commit). So it is exact, costs no job or extra write, and agrees across instances.
  let onlineAtEnd = online;
  for (let i = buckets - 1; i >= 0; i--) {
    const start = first + i * bucketMs;
    const c: MinuteCounts = counts.get(start) ?? {};
    const iso = new Date(start).toISOString();
    series[i] = {
      minute: iso,
      at: iso,
      requested: c.requested ?? 0,
      verified: c.verified ?? 0,
      online: Math.max(0, onlineAtEnd),
    };
    onlineAtEnd -= (c.went_online ?? 0) - (c.went_offline ?? 0);
    for (const metric of Object.keys(otp) as (keyof OtpCounts)[]) otp[metric] += c[metric] ?? 0;
    for (const channel of CHANNELS) {
      for (const step of STEPS) funnel[channel][step] += c[funnelMetric(step, channel)] ?? 0;
    }
  }

  return {
    users: { total, online },
    otp,
    series,
    funnel,
    channels: ctx.delivery.health(),
  };
}

/**
 * Deletes per-minute counters past their two hours and per-hour counters past their eight
 * days (run by cron). Returns how many went.
 */
export async function pruneStats(ctx: Services): Promise<number> {
  const now = ctx.clock.now();
  const minutes = await deleteStatsBefore(ctx.kv, minuteOf(now - STATS_RETENTION_MS));
  const hours = await deleteHourlyStatsBefore(ctx.kv, hourOf(now - HOURLY_STATS_RETENTION_MS));
  return minutes + hours;
}
