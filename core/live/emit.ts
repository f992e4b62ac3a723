import { addEvent } from "../../kv/events.ts";
import type { ChannelName } from "../../kv/otp_requests.ts";
import { addStatCounts, funnelMetric, type StatMetric } from "../../kv/stats.ts";
import { Writes } from "../../kv/writes.ts";
import type { Services } from "../services.ts";
import type { EventKind, LiveEvent } from "./events.ts";

/**
 * Logs an event that is not part of a larger commit (through the group committer, so busy
 * moments share commits) and publishes it on the bus. `otp` events are counted in the admin
 * stats in the same commit. Losing one (KV down) must not fail the request that caused it,
 * so failures are only logged.
 */
export async function emitEvent(
  ctx: Services,
  kind: EventKind,
  type: string,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const event = ctx.bus.newEvent(kind, type, ctx.clock.now(), fields);
  try {
    await ctx.commits.commit(addEventWrites(new Writes(), event, ctx.clock.now()));
  } catch (error) {
    ctx.log.warn("event not logged", { type, error: String(error) });
  }
  ctx.bus.publish(event);
}

/** Adds an event to a commit, with the admin stats it counts; publish it once committed. */
export function addEventWrites(w: Writes, event: LiveEvent, at: number): Writes {
  addEvent(w, event);
  const metrics = event.kind === "otp"
    ? countsOfOtpEvent(event.data.type, channelOf(event.data.channel))
    : [];
  if (metrics.length > 0) addStatCounts(w, at, metrics);
  return w;
}

/**
 * What an `otp` event counts in the admin stats. The meanings:
 * - `requested`: a code request that passed the limits and was stored, whether its code was
 *   delivered, failed to deliver, or waits for a Telegram deep link. Counted by the commit that
 *   stores the request, not by an event, so it counts once per request (`requestCounts`).
 * - `sent`: a code message delivered (a resend in the Telegram chat is a second one).
 * - `verified`: a successful sign-in with a code.
 * - `failed`: a wrong code (`otp.invalid`) or a delivery that failed (`otp.failed`).
 * - `rate_limited`: a request refused by a limit or the resend cooldown.
 *
 * `sent` and `verified` also count for the event's channel (the sign-in funnel).
 */
export function countsOfOtpEvent(type: string, channel?: ChannelName | null): StatMetric[] {
  switch (type) {
    case "otp.sent":
      return channel ? ["sent", funnelMetric("sent", channel)] : ["sent"];
    case "otp.failed":
    case "otp.invalid":
      return ["failed"];
    case "otp.verified":
      return channel ? ["verified", funnelMetric("verified", channel)] : ["verified"];
    case "otp.rate_limited":
      return ["rate_limited"];
    default:
      return [];
  }
}

/** What a stored code request counts: `requested`, overall and for its channel. */
export function requestCounts(channel: ChannelName): StatMetric[] {
  return ["requested", funnelMetric("requested", channel)];
}

function channelOf(value: unknown): ChannelName | null {
  return value === "sms" || value === "telegram" || value === "email" ? value : null;
}
