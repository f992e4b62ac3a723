import { parsePhoneNumberFromString } from "libphonenumber-js";
import { z } from "zod";

/** Whom a code goes to, in canonical form. */
export type Recipient =
  | { kind: "phone"; value: string }
  | { kind: "email"; value: string };

/**
 * Canonical E.164 form of a phone number, or null when it is not one. Input must carry its
 * country code (`+…`); spaces, dashes, dots and brackets are ignored.
 */
export function normalizePhone(input: string): string | null {
  const compact = input.replace(/[\s\-().\u00a0]/g, "");
  if (!/^\+[1-9]\d{5,14}$/.test(compact)) return null;
  const parsed = parsePhoneNumberFromString(compact);
  if (!parsed || !parsed.isValid()) return null;
  return parsed.number;
}

const emailSchema = z.email();

/** Canonical (trimmed, lower-cased) form of an email address, or null when it is not one. */
export function normalizeEmail(input: string): string | null {
  const email = input.trim().toLowerCase();
  if (email.length > 254 || !emailSchema.safeParse(email).success) return null;
  return email;
}

/** The storage key of a recipient: `phone:+14155550100`, `email:ada@example.com`. */
export function recipientKey(recipient: Recipient): string {
  return `${recipient.kind}:${recipient.value}`;
}
