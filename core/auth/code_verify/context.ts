import type { OtpRequest, StoredRequest, TelegramMessageRef } from "../../../kv/otp_requests.ts";
import type { User } from "../../../kv/users.ts";
import type { PresenceContext } from "../../presence/presence.ts";
import type { Admissions } from "../admissions.ts";
import type { IssuedRequests } from "../issued_requests.ts";
import type { TestRecipientGuesses } from "../test_recipients.ts";

/**
 * What a sign-in with a code uses: presence, deleting a used Telegram code message, and the
 * count of wrong codes per client IP.
 */
export interface VerifyContext extends PresenceContext {
  /** Null without a Telegram bot. */
  telegram: { deleteCodeMessage(ref: TelegramMessageRef | null): Promise<void> } | null;
  /** Wrong codes per client IP noted here and not yet seen by every read. */
  failures: Admissions;
  /** Requests this instance stored: a verify arriving here need not read them. */
  issued: IssuedRequests;
  /** Told of codes sent by SMS that were used (a range whose codes are used is not pumping). */
  smsProtection: { verified(prefix: string): void };
  /** The Telegram Gateway, told when a code it delivered is used; null when not configured. */
  gateway: { checkVerificationStatus(requestId: string, code?: string): Promise<unknown> } | null;
  /** Test recipients' guesses, one at a time, against their wrong codes of the day. */
  testGuesses: Pick<TestRecipientGuesses, "enter">;
}

/** A completed sign-in: who, which sign-in (refresh family), and its first refresh token. */
export interface CodeSignIn {
  user: User;
  familyId: string;
  refreshToken: string;
}

/** What a right code of a sign-in decided, once its commit went through. */
export type SignInOutcome =
  | { kind: "disabled"; user: User; stored: StoredRequest }
  | { kind: "signed_in"; signIn: CodeSignIn; newUser: boolean; stored: StoredRequest };

/** A wrong code, once its spent attempt committed. */
export interface WrongCode {
  kind: "wrong";
  attemptsLeft: number;
  request: OtpRequest;
}
