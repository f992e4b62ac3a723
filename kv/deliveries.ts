import { withCursor } from "./cursor.ts";
import type { ChannelName } from "./otp_requests.ts";
import { keys } from "./keys.ts";
import { CONFLICT, retry } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

/** How long delivery attempts are kept. */
export const DELIVERY_LOG_TTL_MS = 7 * 86_400_000;

/**
 * What became of an attempt: `sent` (the provider took it), `delivered` (the provider says it
 * arrived), `failed` (the provider failed, or reported it undelivered), `refused` (not sent:
 * Doorman's SMS protection or the provider turned it down before sending).
 */
export type DeliveryStatus = "sent" | "delivered" | "failed" | "refused";

/** One delivery attempt. Never the code or the whole recipient. */
export interface Delivery {
  id: string;
  /** When the attempt started (ms). */
  at: number;
  /** Null for a request refused before it was stored. */
  requestId: string | null;
  channel: ChannelName;
  provider: string;
  /** The recipient, masked. */
  to: string;
  /** ISO 3166 alpha-2 of a phone; null for email, Telegram chats and numbers of no country. */
  country: string | null;
  status: DeliveryStatus;
  /** The provider's id of the message (Twilio SID, Telegram Gateway request id). */
  providerId: string | null;
  latencyMs: number | null;
  error: string | null;
  /** When a provider's report last changed it (ms). */
  updatedAt: number | null;
  /** A test recipient's, or the fixed code of one. */
  test?: boolean;
}

/** Logs a delivery attempt (kept 7 days), findable by its provider's id when it has one. */
export function addDelivery<W extends AtomicWrites>(w: W, delivery: Delivery): W {
  w.set(keys.delivery(delivery.id), delivery, { expireIn: DELIVERY_LOG_TTL_MS });
  if (delivery.providerId) {
    w.set(keys.deliveryByProvider(delivery.provider, delivery.providerId), delivery.id, {
      expireIn: DELIVERY_LOG_TTL_MS,
    });
  }
  return w;
}

/** The id of the attempt a provider knows by `providerId`, if logged. */
export async function findDeliveryId(
  kv: Deno.Kv,
  provider: string,
  providerId: string,
): Promise<string | null> {
  return (await kv.get<string>(keys.deliveryByProvider(provider, providerId))).value;
}

/** A page of delivery attempts. */
export interface DeliveryPage {
  deliveries: Delivery[];
  cursor: string | null;
}

/**
 * Attempts newest first, optionally only of one channel and status. Filters are applied while
 * reading: a page reads at most `scan` entries, so a rare filter answers a short page (with a
 * cursor to go on) rather than reading a week of attempts in one request.
 */
export async function listDeliveries(
  kv: Deno.Kv,
  options: {
    limit: number;
    cursor?: string;
    channel?: ChannelName;
    status?: DeliveryStatus;
    scan?: number;
  },
): Promise<DeliveryPage> {
  const scan = options.scan ?? 5_000;
  const iterator = kv.list<Delivery>({ prefix: keys.deliveries() }, {
    reverse: true,
    cursor: options.cursor,
    limit: scan,
    batchSize: Math.min(500, Math.max(options.limit, 50)),
  });
  const deliveries: Delivery[] = [];
  let read = 0;
  let cursor: string | null = null;
  await withCursor(async () => {
    for await (const entry of iterator) {
      read++;
      const d = entry.value;
      if (options.channel && d.channel !== options.channel) continue;
      if (options.status && d.status !== options.status) continue;
      deliveries.push(d);
      if (deliveries.length === options.limit) {
        cursor = iterator.cursor;
        return;
      }
    }
    // Stopped by the scan bound, not by the end of the list: more may follow.
    if (read === scan) cursor = iterator.cursor;
  });
  return { deliveries, cursor };
}

/**
 * Applies a provider's report to an attempt; `change` returns the attempt as it should be, or
 * null to leave it. Returns the attempt after the change (null: unknown, or left as it was).
 */
export async function updateDelivery(
  kv: Deno.Kv,
  id: string,
  now: () => number,
  change: (delivery: Delivery) => Delivery | null,
): Promise<Delivery | null> {
  return await retry(`update delivery "${id}"`, async () => {
    const entry = await kv.get<Delivery>(keys.delivery(id));
    if (!entry.value) return null;
    const next = change(entry.value);
    if (!next) return null;
    const expireIn = Math.max(1, next.at + DELIVERY_LOG_TTL_MS - now());
    const result = await kv.atomic().check(entry).set(entry.key, next, { expireIn }).commit();
    return result.ok ? next : CONFLICT;
  });
}
