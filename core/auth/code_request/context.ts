import type { DeliveryAttempt, DeliveryRouter } from "../../delivery/router.ts";
import type { SmsProtection, SmsVerdict } from "../../delivery/sms_protection.ts";
import type { Services } from "../../services.ts";
import type { Admissions } from "../admissions.ts";
import type { IssuedRequests } from "../issued_requests.ts";
import type { ContactRecipient, Recipient } from "../recipients.ts";

/** What a code request uses: the services, delivery, Telegram deep links, IP admissions. */
export interface CodeRequestContext extends Services {
  delivery: DeliveryRouter;
  /** Null without a Telegram bot. */
  telegram: { deepLink(token: string): Promise<string> } | null;
  /** Code requests per client IP admitted here and not yet seen by every read. */
  admissions: Admissions;
  /** Requests this instance stored, for a verify that arrives here. */
  issued: IssuedRequests;
  /** SMS pumping protection. */
  smsProtection: SmsProtection;
}

/** The limits' rolling window. */
export const HOUR_MS = 3_600_000;

/** How the client asked for the code to travel. */
export type ChannelChoice = "auto" | "sms" | "telegram" | "email";

/** Where a code is to go: the tries in order, and what SMS protection said about SMS. */
export interface Plan {
  attempts: DeliveryAttempt[];
  /** The number range SMS counts against when SMS is among the tries. */
  smsPrefix: string | null;
  /** Why SMS is not among the tries, when protection refused it. */
  smsRefused: Extract<SmsVerdict, { ok: false }> | null;
  /** Gives back the SMS's held place under the caps (`smsPrefix` set): whether it committed. */
  smsRelease: ((committed: boolean) => void) | null;
}

/** A plan that sends nothing (a test recipient, a deep link nobody opened, a refusal). */
export function emptyPlan(): Plan {
  return { attempts: [], smsPrefix: null, smsRefused: null, smsRelease: null };
}

/** One code request as the client asked for it, with what was derived before storing it. */
export interface CodeAsk {
  recipient: ContactRecipient | null;
  channel: ChannelChoice;
  ip: string;
  locale: string;
  /** Whom the request names: the recipient, or the deep link's start token. */
  to: Recipient;
  /** The start token of a deep-link sign-in, else null. */
  startToken: string | null;
  /** The deep link is the way on (no recipient, or Telegram with a bot). */
  viaDeepLink: boolean;
  /** A test recipient's fixed code, else null. */
  testCode: string | null;
  /** The user whose contact the code changes; null: a sign-in. */
  contactOf: string | null;
}
