import { appendEvent } from "../../kv/events.ts";
import { appendCountedEvent } from "../../kv/stats.ts";
import { countsOfOtpEvent } from "../admin/stats.ts";
import type { AppContext } from "../context.ts";
import type { EventKind } from "./events.ts";

/**
 * Logs an event that is not part of a larger commit and publishes it on the bus. `otp`
 * events are counted in the admin stats in the same commit. Losing one (KV down) must not
 * fail the request that caused it, so failures are only logged.
 */
export async function emitEvent(
  ctx: AppContext,
  kind: EventKind,
  type: string,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const at = ctx.clock.now();
  const event = ctx.bus.newEvent(kind, type, at, fields);
  const counts = kind === "otp" ? countsOfOtpEvent(type) : null;
  try {
    if (counts) {
      const requestId = counts.request && typeof fields.request_id === "string"
        ? fields.request_id
        : undefined;
      await appendCountedEvent(ctx.kv, event, { at, metrics: counts.metrics, requestId });
    } else {
      await appendEvent(ctx.kv, event);
    }
  } catch (error) {
    ctx.log.warn("event not logged", { type, error: String(error) });
  }
  ctx.bus.publish(event);
}

/** A phone or email with its middle hidden, for events admins watch: `+1415•••0100`. */
export function maskRecipient(recipient: string): string {
  const value = recipient.slice(recipient.indexOf(":") + 1);
  if (value.includes("@")) {
    const [name, domain] = value.split("@");
    return `${name.slice(0, 1)}•••@${domain}`;
  }
  return value.length > 8 ? `${value.slice(0, 5)}•••${value.slice(-4)}` : "•••";
}
