import { addDelivery, type Delivery } from "../../kv/deliveries.ts";
import type { ChannelName, OtpDelivery } from "../../kv/otp_requests.ts";
import type { Writes } from "../../kv/writes.ts";
import { maskRecipient, phoneRange } from "../auth/recipients.ts";
import { monotonicUlid, ulid } from "../ids.ts";
import type { Delivered, TriedAttempt } from "./router.ts";

/**
 * The delivery log: every try to send a code, as the admin's deliveries list shows it. Tries
 * are logged in the commit that follows them (the `otp.sent` or `otp.failed` one), so logging
 * costs no commit of its own. Never the code, and the recipient only masked.
 */

/** How an address of a channel is shown: a phone, email or chat with its middle hidden. */
export function maskAddress(channel: ChannelName, provider: string, to: string): string {
  if (channel === "email") return maskRecipient({ kind: "email", value: to });
  if (channel === "telegram" && provider === "bot") {
    return maskRecipient({ kind: "telegram", value: to });
  }
  return maskRecipient({ kind: "phone", value: to });
}

/** The country of an address that is a phone; null for email and Telegram chats. */
function countryOf(channel: ChannelName, provider: string, to: string): string | null {
  if (channel === "email" || (channel === "telegram" && provider === "bot")) return null;
  return to.startsWith("+") ? phoneRange(to).country : null;
}

const nextInMs = monotonicUlid();
let lastAt = -Infinity;

/**
 * A new delivery log id for an entry made `at`. The log lists by id, newest first, and tries
 * of one request can start within one millisecond (a try refused at once, then the next): ids
 * of one millisecond keep the order they were made in, so the later try lists first.
 */
export function newDeliveryId(at: number): string {
  const id = at >= lastAt ? nextInMs(at) : ulid(at);
  lastAt = Math.max(lastAt, at);
  return `dlv_${id}`;
}

/** A log entry of a try, with a new id. */
export function deliveryOf(
  requestId: string,
  tried: TriedAttempt,
  options: { test?: boolean } = {},
): Delivery {
  const delivery: Delivery = {
    id: newDeliveryId(tried.at),
    at: tried.at,
    requestId,
    channel: tried.channel,
    provider: tried.provider,
    to: maskAddress(tried.channel, tried.provider, tried.to),
    country: countryOf(tried.channel, tried.provider, tried.to),
    status: tried.status,
    providerId: tried.providerId,
    latencyMs: tried.latencyMs,
    error: tried.error,
    updatedAt: null,
  };
  if (options.test) delivery.test = true;
  return delivery;
}

/** Logs every try in `writes`; returns the entries, in the order tried. */
export function addTries(writes: Writes, requestId: string, tried: TriedAttempt[]): Delivery[] {
  return tried.map((attempt) => {
    const delivery = deliveryOf(requestId, attempt);
    addDelivery(writes, delivery);
    return delivery;
  });
}

/** What a request keeps of its delivered message (see `OtpDelivery`). */
export function otpDeliveryOf(
  delivered: Delivered,
  logged: Delivery,
  smsPrefix: string | null,
): OtpDelivery {
  const { chatId, messageId, deleteAt } = delivered.receipt;
  return {
    deliveryId: logged.id,
    channel: delivered.channel,
    provider: delivered.provider,
    providerId: delivered.receipt.providerId ?? null,
    smsPrefix: delivered.channel === "sms" ? smsPrefix : null,
    telegram: chatId !== undefined && messageId !== undefined && deleteAt !== undefined
      ? { chatId, messageId, deleteAt }
      : null,
  };
}
