import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Twilio's request signatures (twilio.com/docs/usage/webhooks/webhooks-security) and the
 * message status callbacks they protect (twilio.com/docs/messaging/guides/track-outbound-message-status):
 * `X-Twilio-Signature` is the base64 HMAC-SHA1, keyed by the account's auth token, of the full
 * URL Twilio requested (query included, exactly as configured) followed by every POST
 * parameter's name and value, sorted by name.
 */

/** The header Twilio signs its requests with. */
export const TWILIO_SIGNATURE_HEADER = "x-twilio-signature";

/** POST parameters, as a form or as pairs (a name may repeat). */
export type TwilioParams = URLSearchParams | Record<string, string> | Iterable<[string, string]>;

/** The signature Twilio sends for a `POST` of `params` to `url`. */
export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
  const pairs = pairsOf(params).sort(([a, x], [b, y]) => compare(a, b) || compare(x, y));
  const hmac = createHmac("sha1", authToken).update(url);
  for (const [name, value] of pairs) hmac.update(name).update(value);
  return hmac.digest("base64");
}

/** Whether `header` is Twilio's signature of this request, compared in constant time. */
export function verifyTwilioSignature(
  authToken: string,
  request: { url: string; params: TwilioParams; header: string | null | undefined },
): boolean {
  if (!request.header) return false;
  const expected = new TextEncoder().encode(
    twilioSignature(authToken, request.url, request.params),
  );
  const actual = new TextEncoder().encode(request.header.trim());
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Statuses an outbound message reports through its status callback. */
export const TWILIO_MESSAGE_STATES = [
  "queued",
  "accepted",
  "scheduled",
  "canceled",
  "sending",
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "read",
  "partially_delivered",
] as const;

/** Where an outbound message is, as Twilio says. */
export type TwilioMessageState = typeof TWILIO_MESSAGE_STATES[number];

/** A status callback, read. */
export interface TwilioStatus {
  messageSid: string;
  status: TwilioMessageState;
  /** Twilio's error code, sent with `failed` and `undelivered`. */
  errorCode?: number;
}

/** A status callback's parameters as a typed status, or null when they are not one. */
export function parseTwilioStatus(params: TwilioParams): TwilioStatus | null {
  const form = new Map(pairsOf(params));
  const messageSid = form.get("MessageSid") ?? form.get("SmsSid") ?? "";
  const status = form.get("MessageStatus") ?? form.get("SmsStatus") ?? "";
  if (!/^(SM|MM)[0-9a-fA-F]{32}$/.test(messageSid)) return null;
  if (!(TWILIO_MESSAGE_STATES as readonly string[]).includes(status)) return null;
  const out: TwilioStatus = { messageSid, status: status as TwilioMessageState };
  const errorCode = form.get("ErrorCode");
  if (errorCode !== undefined && /^\d{1,6}$/.test(errorCode)) out.errorCode = Number(errorCode);
  return out;
}

function pairsOf(params: TwilioParams): [string, string][] {
  if (params instanceof URLSearchParams) return [...params];
  if (Symbol.iterator in params) return [...(params as Iterable<[string, string]>)];
  return Object.entries(params);
}

/** Byte order for ASCII names, as Twilio's "Unix-style case-sensitive sorting". */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
