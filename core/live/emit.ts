import { addEvent } from "../../kv/events.ts";
import { commitUnchecked, retry } from "../../kv/retry.ts";
import { addCountedEvent, addStatCounts, type StatMetric } from "../../kv/stats.ts";
import type { Services } from "../services.ts";
import type { EventKind, LiveEvent } from "./events.ts";

/**
 * Logs an event that is not part of a larger commit and publishes it on the bus. `otp`
 * events are counted in the admin stats in the same commit. Losing one (KV down) must not
 * fail the request that caused it, so failures are only logged.
 */
export async function emitEvent(
  ctx: Services,
  kind: EventKind,
  type: string,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const at = ctx.clock.now();
  const event = ctx.bus.newEvent(kind, type, at, fields);
  try {
    await logEvent(ctx.kv, event, at);
  } catch (error) {
    ctx.log.warn("event not logged", { type, error: String(error) });
  }
  ctx.bus.publish(event);
}

/** Writes an event to the log, with its stats counts when it is an `otp` event. */
async function logEvent(kv: Deno.Kv, event: LiveEvent, at: number): Promise<void> {
  const counts = event.kind === "otp" ? countsOfOtpEvent(event.data.type) : null;
  const requestId = counts?.request && typeof event.data.request_id === "string"
    ? event.data.request_id
    : undefined;
  if (counts && requestId) {
    // The first counted event of a request also counts it as requested (a marker says so);
    // a refused commit means the marker is there: the request was counted already.
    const first = await retry(
      `log event "${event.data.type}"`,
      async () =>
        (await addCountedEvent(kv.atomic(), event, { at, metrics: counts.metrics, requestId })
          .commit()).ok,
    );
    if (first) return;
  }
  await commitUnchecked(`log event "${event.data.type}"`, () => {
    const op = addEvent(kv.atomic(), event);
    return counts ? addStatCounts(op, at, counts.metrics) : op;
  });
}

/**
 * What an `otp` event counts, or null when it counts nothing. The meanings:
 * - `requested`: a code request that passed the limits and was stored, whether its code was
 *   delivered, failed to deliver, or waits for a Telegram deep link. Counted once per request
 *   (`request: true` marks the events that may be its first).
 * - `sent`: a code message delivered (a resend in the Telegram chat is a second one).
 * - `verified`: a successful sign-in with a code.
 * - `failed`: a wrong code (`otp.invalid`) or a delivery that failed (`otp.failed`).
 * - `rate_limited`: a request refused by a limit or the resend cooldown.
 */
export function countsOfOtpEvent(
  type: string,
): { metrics: StatMetric[]; request: boolean } | null {
  switch (type) {
    case "otp.requested":
      return { metrics: [], request: true };
    case "otp.sent":
      return { metrics: ["sent"], request: true };
    case "otp.failed":
      return { metrics: ["failed"], request: true };
    case "otp.invalid":
      return { metrics: ["failed"], request: false };
    case "otp.verified":
      return { metrics: ["verified"], request: false };
    case "otp.rate_limited":
      return { metrics: ["rate_limited"], request: false };
    default:
      return null;
  }
}
