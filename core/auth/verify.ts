import { getRequest, type StoredRequest } from "../../kv/otp_requests.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { getSigningInUser, type UserLookup } from "../../kv/users.ts";
import { readIpCounter, SHARED_BUCKET_MS } from "../../kv/limits.ts";
import { AppError, rateLimited } from "../errors.ts";
import { codeMatches } from "./codes.ts";
import { commitSignIn, commitWrongCode, smsPrefixOf } from "./code_verify/commit.ts";
import type { CodeSignIn, VerifyContext, WrongCode } from "./code_verify/context.ts";
import { parseRecipient, type Recipient } from "./recipients.ts";
import { accountDisabled, signInAnswer, type TokenPair } from "./sessions.ts";

export type { CodeSignIn, VerifyContext };

const HOUR_MS = 3_600_000;

/** Checks a code and signs the user in; answers with the token pair and the user. */
export async function verifyCode(
  ctx: VerifyContext,
  input: { requestId: string; code: string; ip: string; userAgent?: string | null },
): Promise<TokenPair> {
  const signIn = await signInWithCode(ctx, input);
  return await signInAnswer(ctx, signIn.user, signIn);
}

/**
 * Checks a code and records the outcome in one commit: a wrong code spends an attempt; the
 * right one uses the request up, creates the user if new (unique indexes checked), opens the
 * sign-in and brings the user online — all guarded by the versionstamps read, so parallel
 * guesses never get more tries than allowed and a code signs in once. The code's answer is
 * only revealed once that commit went through.
 */
export async function signInWithCode(
  ctx: VerifyContext,
  input: { requestId: string; code: string; ip: string; userAgent?: string | null },
): Promise<CodeSignIn> {
  const timeout = (await ctx.settings.get()).presence_timeout_seconds * 1000;
  const outcome = await redeemCode(ctx, input, {
    // A contact change's code never signs anyone in.
    contactOf: null,
    commit: async ({ stored, n, now }) => {
      const request = stored.entry.value;
      // An existing user is read with their presence; a new one has neither. This instance's
      // copy of the request knows who the code signs in as of the code request: a first try
      // trusts it (the commit's checks catch a change), so a new user's sign-in reads nothing.
      const lookup = lookupOf(parseRecipient(request.recipient));
      const known = n === 0 ? stored.userIndex ?? null : null;
      const found = await getSigningInUser(ctx.kv, lookup, known);
      return await commitSignIn(ctx, { stored, found, lookup, input, now, timeout });
    },
  });
  if (outcome.kind === "disabled") throw accountDisabled(outcome.user);
  ctx.log.info("signed in", {
    otp_request_id: input.requestId,
    user_id: outcome.signIn.user.id,
    new_user: outcome.newUser,
  });
  return outcome.signIn;
}

/** Whose request a code may redeem (null: a sign-in's), and the commit that uses it up. */
export interface RedeemOptions<T> {
  contactOf: string | null;
  commit(attempt: { stored: StoredRequest; n: number; now: number }): Promise<T | typeof CONFLICT>;
}

/**
 * Checks a code of a request made for `contactOf` (a contact change of that user; null: a
 * sign-in) and, when it is right, lets `commit` use the request up in one commit. A request
 * made for anything else reads as unknown and spends no attempt. Everything a used code
 * entails besides (its Telegram message deleted, the Gateway told, its number range counted
 * as verified) happens here, so every use of a code obeys the same rules.
 */
export async function redeemCode<T extends { stored: StoredRequest }>(
  ctx: VerifyContext,
  input: { requestId: string; code: string; ip: string },
  options: RedeemOptions<T>,
): Promise<T> {
  const release = await refuseGuessingNetworks(ctx, input.ip);
  // Whether this verify's wrong code was counted: its held place under the cap lands then.
  let failed = false;
  let outcome: T;
  try {
    outcome = await checkCode(ctx, input, options, () => failed = true);
  } finally {
    release(failed);
  }
  // The code is used either way: its Telegram message goes at once, and the Gateway is told.
  await ctx.telegram?.deleteCodeMessage(outcome.stored.delivery?.telegram ?? null);
  tellGateway(ctx, outcome.stored, input.code);
  const smsPrefix = smsPrefixOf(outcome.stored);
  if (smsPrefix) ctx.smsProtection.verified(smsPrefix);
  return outcome;
}

/** The body of `redeemCode`, once the client IP's wrong-code cap let it in. */
async function checkCode<T>(
  ctx: VerifyContext,
  input: { requestId: string; code: string; ip: string },
  options: RedeemOptions<T>,
  counted: () => void,
): Promise<T> {
  const outcome = await retry(`verify a code of "${input.requestId}"`, async (n) => {
    const now = ctx.clock.now();
    // The first try may use this instance's copy; a refused commit reads KV.
    let stored = (n === 0 ? ctx.issued.get(input.requestId) : undefined) ??
      await getRequest(ctx.kv, input.requestId);
    // Another purpose's request (a sign-in's, a contact change of someone else) is unknown
    // here, and this guess must not spend its attempts.
    if (stored && (stored.entry.value.contactOf ?? null) !== options.contactOf) throw expired();
    // Whatever happens next changes the request: the copy would be stale.
    ctx.issued.forget(input.requestId);
    // A test recipient's guesses take turns (until this one's commit is done), each counting
    // the day's wrong codes: past the cap its fixed code is wrong (README, "Test recipients").
    using guess = stored?.entry.value.test
      ? await ctx.testGuesses.enter(stored.entry.value.recipient, now)
      : null;
    // The guesses before this one may have spent attempts of the request.
    if (guess) stored = await getRequest(ctx.kv, input.requestId);
    if (!stored || stored.entry.value.expiresAt <= now) throw expired();
    const request = stored.entry.value;
    if (request.attempts >= request.maxAttempts) throw tooManyAttempts();
    // A Telegram request whose link was not opened yet has no code: every guess is wrong.
    const matches = !guess?.spent && request.codeHash !== null && await codeMatches(ctx.codeKey, {
      requestId: request.id,
      code: input.code,
      stored: request.codeHash,
    });
    if (!matches) {
      const outcome = await commitWrongCode(ctx, { stored, ip: input.ip, now });
      if (outcome !== CONFLICT) counted();
      return outcome;
    }
    return await options.commit({ stored, n, now });
  });

  if (isWrong(outcome)) {
    ctx.log.info("code rejected", {
      otp_request_id: outcome.request.id,
      attempts_left: outcome.attemptsLeft,
    });
    throw new AppError(
      "INVALID_CODE",
      outcome.attemptsLeft > 0
        ? `The code is not correct. ${outcome.attemptsLeft} attempt${
          outcome.attemptsLeft === 1 ? "" : "s"
        } left.`
        : "The code is not correct, and no attempts are left. Request a new code.",
      { attempts_left: outcome.attemptsLeft },
    );
  }
  return outcome;
}

function isWrong(outcome: unknown): outcome is WrongCode {
  return (outcome as { kind?: string }).kind === "wrong";
}

/**
 * Tells the Telegram Gateway that a code it delivered was used (`checkVerificationStatus`),
 * so its statistics and the message show it; in the background, a failure only logged.
 */
function tellGateway(ctx: VerifyContext, stored: StoredRequest, code: string): void {
  const delivery = stored.delivery;
  if (!ctx.gateway || delivery?.provider !== "telegram_gateway" || !delivery.providerId) return;
  ctx.gateway.checkVerificationStatus(delivery.providerId, code).catch((error) => {
    ctx.log.warn("telegram gateway not told the code was used", {
      otp_request_id: stored.entry.value.id,
      error: error instanceof Error ? error.message : "unexpected failure",
    });
  });
}

/**
 * 429 once a client IP has sent `OTP_VERIFY_FAILURES_PER_IP_PER_HOUR` wrong codes in a rolling
 * hour, across requests: a network that guesses gets no more guesses evaluated, right or
 * wrong. Each guess holds a place under the cap from this moment (parallel guesses see it) and
 * the returned function gives it back unless the guess was wrong and counted.
 */
async function refuseGuessingNetworks(
  ctx: VerifyContext,
  ip: string,
): Promise<(counted: boolean) => void> {
  const now = ctx.clock.now();
  const held = await ctx.failures.reserve(ip, {
    limit: ctx.config.verifyFailuresPerIpPerHour,
    windowMs: HOUR_MS,
    bucketMs: SHARED_BUCKET_MS,
    now,
    read: () => readIpCounter(ctx.kv, "failures", { ip, now, windowMs: HOUR_MS }),
  });
  if (!held.allowed) {
    throw rateLimited("Too many wrong codes from this network.", held.retryAfterMs);
  }
  return held.release;
}

function expired(): AppError {
  return new AppError(
    "INVALID_CODE",
    "The code has expired, was already used or was never issued. Request a new code.",
  );
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
