import type { StoredRequest } from "../../kv/otp_requests.ts";
import { addConsumeRequest } from "../../kv/otp_requests.ts";
import { CONFLICT } from "../../kv/retry.ts";
import { addSmsVerified } from "../../kv/sms_protection.ts";
import { addSaveUser, getUserAndIndex, type User } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { smsPrefixOf } from "../auth/code_verify/commit.ts";
import { type ChannelChoice, type CodeRequestContext, requestCode } from "../auth/otp.ts";
import { type ContactRecipient, parseRecipient } from "../auth/recipients.ts";
import { redeemCode, type VerifyContext } from "../auth/verify.ts";
import type { CodeRequested } from "../../contract/api.ts";
import type { DeliveryRouter } from "../delivery/router.ts";
import { AppError } from "../errors.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import { accountDisabled } from "../users.ts";
import {
  contactChanged,
  contactChangedEvent,
  contactOf,
  label,
  withContact,
} from "./contact_change.ts";
import type { SmsProtection } from "../delivery/sms_protection.ts";
import { sendReplacedNotice } from "./contact_notice.ts";

/** What verifying a contact code uses: a code's checks, and delivery for the notice. */
export interface ContactContext extends VerifyContext {
  delivery: DeliveryRouter;
  /** SMS notices count against the SMS caps and budget like codes. */
  smsProtection: SmsProtection;
}

/**
 * Sends a code to a phone or email the caller wants on their account, through the sign-in
 * code pipeline: the same per-recipient and per-IP limits, SMS pumping guards and channels,
 * and the same answer whether or not the contact is someone else's (that is told only once
 * its code is verified). The request remembers whose contact it changes. A contact the caller
 * already has is 409 `CONFLICT` (`already_linked`) at once: nothing to send, and it tells
 * the caller only about their own account.
 */
export async function requestContactCode(
  ctx: CodeRequestContext,
  caller: User,
  input: { recipient: ContactRecipient; channel: ChannelChoice; ip: string; locale?: string },
): Promise<CodeRequested> {
  const { recipient } = input;
  if (contactOf(caller, recipient.kind) === recipient.value) {
    throw new AppError("CONFLICT", `This ${label(recipient.kind)} is already on your account.`, {
      reason: "already_linked",
    });
  }
  return await requestCode(ctx, { ...input, contactOf: caller.id });
}

/** What a right contact code did, once its commit went through (or found the contact taken). */
type ContactOutcome =
  | { kind: "changed"; user: User; old: string | null; event: LiveEvent; stored: StoredRequest }
  | { kind: "unchanged"; user: User; stored: StoredRequest }
  | { kind: "in_use"; stored: StoredRequest };

/**
 * Checks a code of the caller's contact request like a sign-in code (attempts, expiry, single
 * use; another user's request or a sign-in's is unknown here) and, when right, in one commit:
 * the request used up, the contact set on the user, its index claimed (it must be free) and
 * the old one dropped. A contact another account holds is 409 `CONFLICT` (`contact_in_use`)
 * and nothing changes. The replaced phone or email is told, in the request's language.
 */
export async function verifyContactCode(
  ctx: ContactContext,
  userId: string,
  input: { requestId: string; code: string; ip: string },
): Promise<User> {
  const outcome = await redeemCode<ContactOutcome>(ctx, input, {
    contactOf: userId,
    commit: ({ stored, now }) => commitContactCode(ctx, userId, stored, now),
  });
  if (outcome.kind === "in_use") {
    throw new AppError("CONFLICT", "This contact belongs to another account.", {
      reason: "contact_in_use",
    });
  }
  if (outcome.kind === "unchanged") return outcome.user;
  contactChanged(ctx, outcome.user, outcome.event);
  const recipient = parseRecipient(outcome.stored.entry.value.recipient) as ContactRecipient;
  ctx.log.info("contact changed", { user_id: userId, contact: recipient.kind });
  if (outcome.old !== null) {
    await sendReplacedNotice(ctx, {
      kind: recipient.kind,
      old: outcome.old,
      next: recipient.value,
      locale: outcome.stored.entry.value.locale,
    });
  }
  return outcome.user;
}

async function commitContactCode(
  ctx: ContactContext,
  userId: string,
  stored: StoredRequest,
  now: number,
): Promise<ContactOutcome | typeof CONFLICT> {
  const recipient = parseRecipient(stored.entry.value.recipient);
  if (recipient.kind !== "phone" && recipient.kind !== "email") {
    // A Telegram link's request has no code to verify: its deep link is the way.
    throw new AppError("INVALID_CODE", "This request is not verified with a code.");
  }
  const { user, index } = await getUserAndIndex(ctx.kv, userId, recipient);
  if (!user.value) throw new AppError("UNAUTHORIZED", "This account no longer exists.");
  if (user.value.status !== "active") throw accountDisabled(user.value);
  if (index.value !== null && index.value !== userId) return { kind: "in_use", stored };

  const writes = new Writes();
  addConsumeRequest(writes, stored);
  // A code that came by SMS and was used: its number range is not pumping.
  const smsPrefix = smsPrefixOf(stored);
  if (smsPrefix) addSmsVerified(writes, smsPrefix, now);
  const old = contactOf(user.value, recipient.kind);
  if (old === recipient.value) {
    if (!await ctx.commits.commit(writes.check(user, index))) return CONFLICT;
    return { kind: "unchanged", user: user.value, stored };
  }
  const next = withContact(user.value, recipient.kind, recipient.value, now);
  // Checks the user as read, claims the new index (free) and drops the old one.
  addSaveUser(writes, next, user);
  const event = contactChangedEvent(ctx, {
    userId,
    kind: recipient.kind,
    old,
    next: recipient.value,
    now,
  });
  addEventWrites(writes, event, now);
  if (!await ctx.commits.commit(writes)) return CONFLICT;
  return { kind: "changed", user: next, old, event, stored };
}
