import {
  addAttempt,
  addConsumeRequest,
  getRequest,
  type OtpRequest,
  type StoredRequest,
  type TelegramMessageRef,
} from "../../kv/otp_requests.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { addOpenFamily } from "../../kv/sessions.ts";
import {
  addSaveUser,
  emptyUserEntry,
  getSigningInUser,
  getUserIndex,
  type User,
  type UserLookup,
} from "../../kv/users.ts";
import { emptyPresenceRecord } from "../../kv/presence.ts";
import { addSmsVerified } from "../../kv/sms_protection.ts";
import { addTestRecipientFailure } from "../../kv/test_recipients.ts";
import { addSuspensionEnd, suspensionOver } from "../admin/suspensions.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError, rateLimited } from "../errors.ts";
import type { Admissions } from "./admissions.ts";
import type { IssuedRequests } from "./issued_requests.ts";
import { addIpCount, readIpCounter, SHARED_BUCKET_MS } from "../../kv/limits.ts";
import { newId } from "../ids.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import { prepareActivity, type PresenceContext } from "../presence/presence.ts";
import { codeMatches } from "./codes.ts";
import { maskRecipient, parseRecipient, type Recipient } from "./recipients.ts";
import { accountDisabled, newSession, type SignIn, signInAnswer } from "./sessions.ts";
import type { TestRecipientGuesses } from "./test_recipients.ts";

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

const HOUR_MS = 3_600_000;

/** A completed sign-in: who, which sign-in (refresh family), and its first refresh token. */
export interface CodeSignIn {
  user: User;
  familyId: string;
  refreshToken: string;
}

/** Checks a code and signs the user in; answers with the token pair and the user. */
export async function verifyCode(
  ctx: VerifyContext,
  input: { requestId: string; code: string; ip: string; userAgent?: string | null },
): Promise<SignIn> {
  const signIn = await signInWithCode(ctx, input);
  return await signInAnswer(ctx, signIn.user, signIn);
}

/** What one attempt decided, once its commit went through. */
type Outcome =
  | { kind: "wrong"; attemptsLeft: number; request: OtpRequest }
  | { kind: "disabled"; user: User; stored: StoredRequest }
  | { kind: "signed_in"; signIn: CodeSignIn; newUser: boolean; stored: StoredRequest };

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
  const { ip } = input;
  const release = await refuseGuessingNetworks(ctx, ip);
  // Whether this verify's wrong code was counted: its held place under the cap lands then.
  let failed = false;
  try {
    return await checkCode(ctx, input, () => failed = true);
  } finally {
    release(failed);
  }
}

/** The body of `signInWithCode`, once the client IP's wrong-code cap let it in. */
async function checkCode(
  ctx: VerifyContext,
  input: { requestId: string; code: string; ip: string; userAgent?: string | null },
  counted: () => void,
): Promise<CodeSignIn> {
  const { ip } = input;
  const timeout = (await ctx.settings.get()).presence_timeout_seconds * 1000;
  const outcome = await retry(`verify a code of "${input.requestId}"`, async (n): Promise<
    Outcome | typeof CONFLICT
  > => {
    const now = ctx.clock.now();
    // The first try may use this instance's copy; a refused commit reads KV.
    let stored = (n === 0 ? ctx.issued.get(input.requestId) : undefined) ??
      await getRequest(ctx.kv, input.requestId);
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
    const writes = new Writes();
    const events: LiveEvent[] = [];
    const masked = maskRecipient(parseRecipient(request.recipient));
    // A test recipient's events say so (README, "Test recipients").
    const test = request.test ? { test: true } : {};
    if (!matches) {
      const attemptsLeft = request.maxAttempts - request.attempts - 1;
      addAttempt(writes, stored.entry, now);
      addIpCount(writes, "failures", ip, now);
      if (request.test) addTestRecipientFailure(writes, request.recipient, now);
      events.push(ctx.bus.newEvent("otp", "otp.invalid", now, {
        request_id: request.id,
        recipient: masked,
        attempts_left: attemptsLeft,
        ...test,
      }));
      for (const event of events) addEventWrites(writes, event, now);
      if (await ctx.commits.commit(writes) === null) return CONFLICT;
      counted();
      ctx.bus.publish(...events);
      return { kind: "wrong", attemptsLeft, request };
    }

    const lookup = lookupOf(parseRecipient(request.recipient));
    // An existing user is read with their presence; a new one has neither. This instance's
    // copy of the request knows who the code signs in as of the code request: a first try
    // trusts it (the commit's checks catch a change), so a new user's sign-in reads nothing.
    const found = await getSigningInUser(ctx.kv, lookup, n === 0 ? stored.userIndex ?? null : null);
    const storedUser = found.user ?? emptyUserEntry(newId("usr", now));
    const presenceRecord = found.presence;
    addConsumeRequest(writes, stored);
    // A code that came by SMS and was used: its number range is not pumping.
    const smsPrefix = smsPrefixOf(stored);
    if (smsPrefix) addSmsVerified(writes, smsPrefix, now);
    // A suspension whose end has come is lifted here, exactly, in this commit.
    const lifted = storedUser.value && suspensionOver(storedUser.value, now)
      ? addSuspensionEnd(ctx, writes, storedUser.value)
      : null;
    const user: Deno.KvEntryMaybe<User> = lifted
      ? { ...storedUser as Deno.KvEntry<User>, value: lifted.user }
      : storedUser;
    if (user.value && user.value.status !== "active") {
      if (!await ctx.commits.commit(writes.check(user))) return CONFLICT;
      return { kind: "disabled", user: user.value, stored };
    }
    const telegramId = await freeTelegramId(ctx, stored, user.value);
    const save = userToSave(ctx, user, lookup, now, telegramId) ?? lifted?.user ?? null;
    const userId = String(user.key[1]);
    const session = await newSession(ctx, userId, {
      now,
      client: { userAgent: input.userAgent, ip },
    });
    if (save) addSaveUser(writes, save, storedUser);
    else writes.check(user);
    addOpenFamily(writes, session.family, session.tokenHash, session.token);
    events.push(ctx.bus.newEvent("otp", "otp.verified", now, {
      request_id: request.id,
      recipient: masked,
      user_id: userId,
      new_user: !user.value,
      // The channel the code came by (the funnel counts it there).
      channel: stored.delivery?.channel ?? request.channel,
      ...test,
    }));
    for (const event of events) addEventWrites(writes, event, now);
    const presence = await prepareActivity(ctx, userId, {
      heartbeat: false,
      at: now,
      timeout,
      read: presenceRecord ?? emptyPresenceRecord(userId),
      newUser: !user.value,
    });
    writes.include(presence.writes);
    const versionstamp = await ctx.commits.commit(writes);
    if (!versionstamp) {
      ctx.presence.cache.forget(userId);
      return CONFLICT;
    }
    const signedIn = (save ?? user.value)!;
    ctx.signIns.rememberUser(signedIn);
    ctx.signIns.rememberFamily(session.family);
    ctx.bus.publish(...lifted?.events ?? [], ...events);
    presence.done(versionstamp);
    return {
      kind: "signed_in",
      signIn: { user: signedIn, familyId: session.family.id, refreshToken: session.refreshToken },
      newUser: !user.value,
      stored,
    };
  });

  if (outcome.kind === "wrong") {
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
  // The code is used either way: its Telegram message goes at once, and the Gateway is told.
  await ctx.telegram?.deleteCodeMessage(outcome.stored.delivery?.telegram ?? null);
  tellGateway(ctx, outcome.stored, input.code);
  const smsPrefix = smsPrefixOf(outcome.stored);
  if (smsPrefix) ctx.smsProtection.verified(smsPrefix);
  if (outcome.kind === "disabled") throw accountDisabled(outcome.user);
  ctx.log.info("signed in", {
    otp_request_id: input.requestId,
    user_id: outcome.signIn.user.id,
    new_user: outcome.newUser,
  });
  return outcome.signIn;
}

/** The number range a request's code went to by SMS, if it did. */
function smsPrefixOf(stored: StoredRequest): string | null {
  return stored.entry.value.smsPrefix ?? stored.delivery?.smsPrefix ?? null;
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
 * The Telegram id a phone sign-in through Telegram can record on its user: the chat the code
 * went to, unless the user has one already or another user holds it.
 */
async function freeTelegramId(
  ctx: VerifyContext,
  stored: StoredRequest,
  user: User | null,
): Promise<string | null> {
  const chatId = stored.delivery?.telegram?.chatId;
  if (
    !chatId || parseRecipient(stored.entry.value.recipient).kind !== "phone" || user?.telegramId
  ) {
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
  // A test recipient is never one (the config refuses it too): its fixed code is no secret.
  const bootstrapAdmin = !ctx.config.testRecipients.has(`${lookup.kind}:${lookup.value}`) && (
    (lookup.kind === "phone" && ctx.config.adminPhones.includes(lookup.value)) ||
    (lookup.kind === "email" && ctx.config.adminEmails.includes(lookup.value))
  );
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
