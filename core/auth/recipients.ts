// The full metadata: the number type (premium-rate, shared-cost) needs it.
import { parsePhoneNumberFromString, type PhoneNumber } from "libphonenumber-js/max";
import { z } from "zod";

/**
 * Whom a code goes to, in canonical form: a phone (E.164), an email (lower-cased), a Telegram
 * account (its numeric id), or a Telegram deep link nobody opened yet (its start token).
 */
export type Recipient =
  | { kind: "phone"; value: string }
  | { kind: "email"; value: string }
  | { kind: "telegram"; value: string }
  | { kind: "start"; value: string };

/** A recipient a client can name in a code request. */
export type ContactRecipient = Extract<Recipient, { kind: "phone" | "email" }>;

const KINDS = new Set<Recipient["kind"]>(["phone", "email", "telegram", "start"]);

/**
 * Canonical E.164 form of a phone number, or null when it is not one. Input must carry its
 * country code (`+…`); spaces, dashes, dots and brackets are ignored.
 */
export function normalizePhone(input: string): string | null {
  const compact = input.replace(/[\s\-().\u00a0]/g, "");
  if (!/^\+[1-9]\d{5,14}$/.test(compact)) return null;
  const parsed = parsePhoneNumberFromString(compact);
  if (!parsed || !parsed.isValid()) return null;
  // Parsed once: its country and range are kept for `phoneRange` (SMS protection asks next).
  remember(parsed.number, rangeOf(parsed));
  return parsed.number;
}

const emailSchema = z.email();

/** Canonical (trimmed, lower-cased) form of an email address, or null when it is not one. */
export function normalizeEmail(input: string): string | null {
  const email = input.trim().toLowerCase();
  if (email.length > 254 || !emailSchema.safeParse(email).success) return null;
  return email;
}

/** The stored key of a recipient: `phone:+14155550100`, `email:ada@example.com`, … */
export function formatRecipient(recipient: Recipient): string {
  return `${recipient.kind}:${recipient.value}`;
}

/** The recipient a stored key names; throws on a key `formatRecipient` cannot have made. */
export function parseRecipient(key: string): Recipient {
  const at = key.indexOf(":");
  const kind = key.slice(0, at) as Recipient["kind"];
  if (at < 1 || !KINDS.has(kind)) throw new Error(`Cannot parse recipient key "${key}"`);
  return { kind, value: key.slice(at + 1) } as Recipient;
}

/** Domains whose mailboxes ignore dots in the local part (Gmail's, under both names). */
const DOTLESS_DOMAINS: Record<string, string> = {
  "gmail.com": "gmail.com",
  "googlemail.com": "gmail.com",
};

/**
 * The mailbox an address delivers to, for counting limits: `+tags` dropped, and for Gmail the
 * dots too, so `carol+1@…`, `Carol+2@…` and `carol@…` are one recipient. (The address itself
 * stays the account's identity: only the limits count by mailbox.)
 */
export function mailboxOf(email: string): string {
  const at = email.lastIndexOf("@");
  let local = email.slice(0, at).toLowerCase();
  let domain = email.slice(at + 1).toLowerCase();
  const plus = local.indexOf("+");
  if (plus > 0) local = local.slice(0, plus);
  if (DOTLESS_DOMAINS[domain]) {
    local = local.replaceAll(".", "");
    domain = DOTLESS_DOMAINS[domain];
  }
  return `${local}@${domain}`;
}

/**
 * The key a recipient's limits, cooldown and live request are kept under: its stored key,
 * except that an email counts by its mailbox.
 */
export function limitKeyOf(recipient: Recipient): string {
  return recipient.kind === "email"
    ? formatRecipient({ kind: "email", value: mailboxOf(recipient.value) })
    : formatRecipient(recipient);
}

/** A recipient with its middle hidden, for logs and the events admins watch: `+1415•••0100`. */
export function maskRecipient(recipient: Recipient): string {
  const { value } = recipient;
  if (recipient.kind === "email") {
    const [name, domain] = value.split("@");
    return `${name.slice(0, 1)}•••@${domain}`;
  }
  return value.length > 8 ? `${value.slice(0, 5)}•••${value.slice(-4)}` : "•••";
}

/** Where a phone number is: its country and its number range. */
export interface PhoneRange {
  /** ISO 3166 alpha-2 code; null for numbers of no country (satellite, international). */
  country: string | null;
  /** The country calling code and the next three digits, with its `+`: `+1415`, `+44791`. */
  prefix: string;
  /** A premium-rate or shared-cost number: the caller pays per message, so no SMS goes there. */
  premium: boolean;
}

const ranges = new Map<string, PhoneRange>();
const PAID_BY_SENDER = new Set(["PREMIUM_RATE", "SHARED_COST"]);

/** The country and number range of a canonical E.164 phone (memoized, bounded). */
export function phoneRange(phone: string): PhoneRange {
  const known = ranges.get(phone);
  if (known) return known;
  const parsed = parsePhoneNumberFromString(phone);
  const range = parsed
    ? rangeOf(parsed)
    : { country: null, prefix: phone.slice(0, 5), premium: false };
  remember(phone, range);
  return range;
}

function rangeOf(parsed: PhoneNumber): PhoneRange {
  return {
    country: parsed.country ?? null,
    prefix: `+${parsed.countryCallingCode}${String(parsed.nationalNumber).slice(0, 3)}`,
    premium: PAID_BY_SENDER.has(parsed.getType() ?? ""),
  };
}

function remember(phone: string, range: PhoneRange): void {
  if (ranges.size >= 10_000) ranges.clear();
  ranges.set(phone, range);
}
