import { getRequest, type OtpRequest, spendAttempt } from "../../kv/otp_requests.ts";
import { commitSignIn, consumeRequest } from "../../kv/sign_in.ts";
import {
  emptyUserEntry,
  getUserEntry,
  getUserIndex,
  type User,
  type UserLookup,
} from "../../kv/users.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import type { TelegramMessageRef } from "../../kv/otp_requests.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { emitEvent } from "../live/emit.ts";
import { type PresenceContext, recordActivity } from "../presence/presence.ts";
import { codeMatches } from "./codes.ts";
import { maskRecipient, parseRecipient, type Recipient } from "./recipients.ts";
import { accountDisabled, newSession, type SignIn, signInAnswer } from "./sessions.ts";

/** What a sign-in with a code uses: presence, and deleting a used Telegram code message. */
export interface VerifyContext extends PresenceContext {
  /** Null without a Telegram bot. */
  telegram: { deleteCodeMessage(ref: TelegramMessageRef | null): Promise<void> } | null;
}

/** A completed sign-in: who, which sign-in (refresh family), and its first refresh token. */
export interface CodeSignIn {
  user: User;
  familyId: string;
  refreshToken: string;
}

/**
 * Checks a code and signs the user in; answers with the token pair and the user.
 */
export async function verifyCode(
  ctx: VerifyContext,
  input: { requestId: string; code: string },
): Promise<SignIn> {
  const signIn = await signInWithCode(ctx, input);
  return await signInAnswer(ctx, signIn.user, signIn);
}

/**
 * Checks a code and records the sign-in. One attempt is spent (atomically) before the code is
 * compared, so parallel guesses never get more tries than allowed; the request is used up in
 * the same commit that creates the user and opens the session, so a code signs in once.
 */
export async function signInWithCode(
  ctx: VerifyContext,
  input: { requestId: string; code: string },
): Promise<CodeSignIn> {
  let entry = await retry(`spend an attempt of "${input.requestId}"`, async () => {
    const live = await liveRequest(ctx, input.requestId);
    if (live.value.attempts >= live.value.maxAttempts) throw tooManyAttempts();
    return await spendAttempt(ctx.kv, live, ctx.clock.now()) ?? CONFLICT;
  });

  const request = entry.value;
  // A Telegram request whose link was not opened yet has no code: every guess is wrong.
  const matches = request.codeHash !== null && await codeMatches(ctx.codeKey, {
    requestId: request.id,
    code: input.code,
    stored: request.codeHash,
  });
  if (!matches) {
    const attemptsLeft = request.maxAttempts - request.attempts;
    ctx.log.info("code rejected", { otp_request_id: request.id, attempts_left: attemptsLeft });
    await emitEvent(ctx, "otp", "otp.invalid", {
      request_id: request.id,
      recipient: maskRecipient(parseRecipient(request.recipient)),
      attempts_left: attemptsLeft,
    });
    throw new AppError(
      "INVALID_CODE",
      attemptsLeft > 0
        ? `The code is not correct. ${attemptsLeft} attempt${attemptsLeft === 1 ? "" : "s"} left.`
        : "The code is not correct, and no attempts are left. Request a new code.",
      { attempts_left: attemptsLeft },
    );
  }

  // Reads again on a lost race: the request was used by a parallel attempt (then it is gone),
  // or the user was written meanwhile. The code already matched.
  const outcome = await retry(`sign in with "${request.id}"`, async (n) => {
    if (n > 0) entry = await liveRequest(ctx, input.requestId);
    const now = ctx.clock.now();
    const lookup = lookupOf(parseRecipient(entry.value.recipient));
    const index = await getUserIndex(ctx.kv, lookup);
    const user = index.value
      ? await getUserEntry(ctx.kv, index.value)
      : emptyUserEntry(newId("usr", now));
    if (user.value && user.value.status !== "active") {
      return await consumeRequest(ctx.kv, entry)
        ? { kind: "disabled" as const, user: user.value }
        : CONFLICT;
    }
    const telegramId = await freeTelegramId(ctx, entry.value, user.value);
    const save = userToSave(ctx, user, lookup, now, telegramId);
    const userId = String(user.key[1]);
    const session = await newSession(ctx, userId, now);
    const committed = await commitSignIn(ctx.kv, {
      request: entry,
      user,
      save,
      family: session.family,
      tokenHash: session.tokenHash,
      token: session.token,
    });
    if (!committed) return CONFLICT;
    return {
      kind: "signed_in" as const,
      signIn: {
        user: (save ?? user.value)!,
        familyId: session.family.id,
        refreshToken: session.refreshToken,
      },
      newUser: !user.value,
    };
  });
  if (outcome.kind === "disabled") {
    await ctx.telegram?.deleteCodeMessage(entry.value.telegram);
    throw accountDisabled(outcome.user);
  }
  const { signIn, newUser } = outcome;
  ctx.log.info("signed in", {
    otp_request_id: request.id,
    user_id: signIn.user.id,
    new_user: newUser,
  });
  await emitEvent(ctx, "otp", "otp.verified", {
    request_id: request.id,
    recipient: maskRecipient(parseRecipient(request.recipient)),
    user_id: signIn.user.id,
    new_user: newUser,
  });
  await ctx.telegram?.deleteCodeMessage(request.telegram ?? entry.value.telegram);
  await recordActivity(ctx, signIn.user.id, { heartbeat: false });
  return signIn;
}

/**
 * The Telegram id a phone sign-in through Telegram can record on its user: the chat the code
 * went to, unless the user has one already or another user holds it.
 */
async function freeTelegramId(
  ctx: VerifyContext,
  request: OtpRequest,
  user: User | null,
): Promise<string | null> {
  const chatId = request.telegram?.chatId;
  if (!chatId || parseRecipient(request.recipient).kind !== "phone" || user?.telegramId) {
    return null;
  }
  const index = await getUserIndex(ctx.kv, { kind: "telegram", value: chatId });
  return index.value === null ? chatId : null;
}

/** What to write for the signing-in user: a new user, a promotion, a new link, or nothing. */
function userToSave(
  ctx: VerifyContext,
  user: Deno.KvEntryMaybe<User>,
  lookup: UserLookup,
  now: number,
  telegramId: string | null,
): User | null {
  const bootstrapAdmin =
    (lookup.kind === "phone" && ctx.config.adminPhones.includes(lookup.value)) ||
    (lookup.kind === "email" && ctx.config.adminEmails.includes(lookup.value));
  if (user.value) {
    const promote = bootstrapAdmin && user.value.role !== "admin";
    if (!promote && !telegramId) return null;
    return {
      ...user.value,
      role: promote ? "admin" : user.value.role,
      telegramId: user.value.telegramId ?? telegramId,
      updatedAt: now,
    };
  }
  return {
    id: String(user.key[1]),
    phone: lookup.kind === "phone" ? lookup.value : null,
    email: lookup.kind === "email" ? lookup.value : null,
    telegramId: lookup.kind === "telegram" ? lookup.value : telegramId,
    status: "active",
    role: bootstrapAdmin ? "admin" : "user",
    createdAt: now,
    updatedAt: now,
  };
}

/** A request that exists and has not expired, or 400 `INVALID_CODE`. */
async function liveRequest(ctx: VerifyContext, id: string): Promise<Deno.KvEntry<OtpRequest>> {
  const entry = await getRequest(ctx.kv, id);
  if (!entry.value || entry.value.expiresAt <= ctx.clock.now()) {
    throw new AppError(
      "INVALID_CODE",
      "The code has expired, was already used or was never issued. Request a new code.",
    );
  }
  return entry as Deno.KvEntry<OtpRequest>;
}

function tooManyAttempts(): AppError {
  return new AppError(
    "TOO_MANY_ATTEMPTS",
    "This code has used up its attempts and can no longer be used. Request a new code.",
  );
}

/** How the user of a recipient is found; a deep link nobody opened has no user yet. */
function lookupOf(recipient: Recipient): UserLookup {
  if (recipient.kind === "start") {
    throw new Error("Cannot sign in a Telegram deep link that was never opened");
  }
  return recipient;
}
