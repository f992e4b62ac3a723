import { appendEvent } from "../../kv/events.ts";
import type { AppContext } from "../context.ts";
import type { EventKind } from "./events.ts";

/**
 * Logs an event that is not part of a larger commit and publishes it on the bus. Losing one
 * (KV down) must not fail the request that caused it, so failures are only logged.
 */
export async function emitEvent(
  ctx: AppContext,
  kind: EventKind,
  type: string,
  fields: Record<string, unknown> = {},
): Promise<void> {
  const event = ctx.bus.newEvent(kind, type, ctx.clock.now(), fields);
  try {
    await appendEvent(ctx.kv, event);
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
