import {
  getRequest,
  type OtpChannel,
  type OtpRequest,
  readRequestGuards,
  saveRequest,
  spendAttempt,
  withdrawRequest,
} from "../../kv/otp_requests.ts";
import { commitSignIn, consumeRequest } from "../../kv/sign_in.ts";
import {
  emptyUserEntry,
  getUserEntry,
  getUserIndex,
  type User,
  type UserLookup,
} from "../../kv/users.ts";
import type { AppContext } from "../context.ts";
import { codeMessage } from "../delivery/messages.ts";
import type { DeliveryAttempt } from "../delivery/router.ts";
import { backOff, MAX_CONFLICTS, tooBusy } from "../conflicts.ts";
import { AppError, rateLimited } from "../errors.ts";
import { newId } from "../ids.ts";
import { emitEvent, maskRecipient } from "../live/emit.ts";
import { countInWindow, refundInWindow } from "../limits.ts";
import { codeMatches, generateCode, hashCode } from "./codes.ts";
import { type Recipient, recipientKey } from "./recipients.ts";
import { recordActivity } from "../presence/presence.ts";
import { accountDisabled, newSession, type SignIn, signInAnswer } from "./sessions.ts";

const HOUR_MS = 3_600_000;

/** How the client asked for the code to travel. */
export type ChannelChoice = "auto" | "sms" | "telegram" | "email";

/** The 202 answer of a code request. */
export interface CodeRequested {
  request_id: string;
  channel: OtpChannel;
  expires_in: number;
  resend_after: number;
}

/**
 * Issues a code: checks the limits, stores the request (replacing the recipient's previous
 * one) and delivers it, falling back to the next channel on failure. Does the same work
 * whether or not the recipient has an account, so neither answer nor timing tell.
 */
export async function requestCode(
  ctx: AppContext,
  input: { recipient: Recipient; channel: ChannelChoice; ip: string },
): Promise<CodeRequested> {
  const { recipient, ip } = input;
  const attempts = deliveryPlan(ctx, recipient, input.channel);
  if (attempts.length === 0) {
    throw new AppError(
      "CHANNEL_UNAVAILABLE",
      `No channel that can reach this ${recipient.kind} is configured.`,
    );
  }
  const settings = await ctx.settings.get();
  const key = recipientKey(recipient);
  const code = generateCode(settings.otp_length);

  let request: OtpRequest | undefined;
  for (let conflict = 0; !request; conflict++) {
    if (conflict === MAX_CONFLICTS) throw tooBusy();
    if (conflict > 0) await backOff(conflict);
    const now = ctx.clock.now();
    const guards = await readRequestGuards(ctx.kv, key, ip);
    const cooldownMs = (guards.cooldown.value?.until ?? 0) - now;
    const byRecipient = countInWindow(guards.recipientWindow.value, {
      limit: settings.otp_rate_limit_per_hour,
      windowMs: HOUR_MS,
      now,
    });
    const byIp = countInWindow(guards.ipWindow.value, {
      limit: settings.otp_ip_rate_limit_per_hour,
      windowMs: HOUR_MS,
      now,
    });
    if (!byRecipient.allowed || !byIp.allowed || cooldownMs > 0) {
      await emitEvent(ctx, "otp", "otp.rate_limited", {
        recipient: maskRecipient(key),
        limit: !byIp.allowed ? "ip" : !byRecipient.allowed ? "recipient" : "cooldown",
      });
    }
    if (!byRecipient.allowed || !byIp.allowed) {
      throw rateLimited(
        "Too many codes requested.",
        Math.max(cooldownMs, byRecipient.retryAfterMs, byIp.retryAfterMs),
      );
    }
    if (cooldownMs > 0) throw rateLimited("A code was sent moments ago.", cooldownMs);

    const id = newId("otp", now);
    const candidate: OtpRequest = {
      id,
      recipient: key,
      channel: attempts[0].channel,
      codeHash: await hashCode(ctx.codeKey, id, code),
      createdAt: now,
      expiresAt: now + settings.otp_ttl_seconds * 1000,
      attempts: 0,
      maxAttempts: settings.otp_max_attempts,
    };
    const saved = await saveRequest(ctx.kv, {
      request: candidate,
      guards,
      recipientWindow: byRecipient.next,
      ipWindow: byIp.next,
      windowMs: HOUR_MS,
      cooldownUntil: now + settings.otp_resend_cooldown_seconds * 1000,
    });
    if (saved) request = candidate;
  }

  const issued = request;
  let channel: OtpChannel;
  try {
    channel = await ctx.delivery.deliver(attempts, codeMessage(code, settings.otp_ttl_seconds));
  } catch (error) {
    await emitEvent(ctx, "otp", "otp.failed", {
      request_id: issued.id,
      recipient: maskRecipient(key),
      reason: "delivery",
    });
    await withdrawRequest(ctx.kv, issued, {
      ip,
      refund: (counter) => refundInWindow(counter, { windowMs: HOUR_MS, at: issued.createdAt }),
    });
    throw error;
  }
  ctx.log.info("code sent", { otp_request_id: request.id, channel });
  await emitEvent(ctx, "otp", "otp.sent", {
    request_id: request.id,
    recipient: maskRecipient(key),
    channel,
  });
  return {
    request_id: request.id,
    channel,
    expires_in: settings.otp_ttl_seconds,
    resend_after: settings.otp_resend_cooldown_seconds,
  };
}

/** The channels to try, in order, for a recipient and the client's choice. */
function deliveryPlan(
  ctx: AppContext,
  recipient: Recipient,
  choice: ChannelChoice,
): DeliveryAttempt[] {
  const plan: DeliveryAttempt[] = recipient.kind === "email"
    ? [{ channel: "email", to: recipient.value }]
    : choice === "telegram"
    ? [{ channel: "telegram", to: recipient.value }]
    : [{ channel: "sms", to: recipient.value }];
  return plan.filter((attempt) => ctx.delivery.has(attempt.channel));
}

/**
 * Checks a code and signs the user in. One attempt is spent (atomically) before the code is
 * compared, so parallel guesses never get more tries than allowed; the request is used up in
 * the same commit that creates the user and opens the session, so a code signs in once.
 */
export async function verifyCode(
  ctx: AppContext,
  input: { requestId: string; code: string },
): Promise<SignIn> {
  let entry = await liveRequest(ctx, input.requestId);
  for (let conflict = 0;; conflict++) {
    if (conflict === MAX_CONFLICTS) throw tooBusy();
    if (conflict > 0) await backOff(conflict);
    if (entry.value.attempts >= entry.value.maxAttempts) throw tooManyAttempts();
    const spent = await spendAttempt(ctx.kv, entry, ctx.clock.now());
    if (spent) {
      entry = spent;
      break;
    }
    entry = await liveRequest(ctx, input.requestId);
  }

  const request = entry.value;
  const matches = await codeMatches(ctx.codeKey, {
    requestId: request.id,
    code: input.code,
    stored: request.codeHash,
  });
  if (!matches) {
    const attemptsLeft = request.maxAttempts - request.attempts;
    ctx.log.info("code rejected", { otp_request_id: request.id, attempts_left: attemptsLeft });
    await emitEvent(ctx, "otp", "otp.invalid", {
      request_id: request.id,
      recipient: maskRecipient(request.recipient),
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

  for (let conflict = 0;; conflict++) {
    if (conflict === MAX_CONFLICTS) throw tooBusy();
    if (conflict > 0) await backOff(conflict);
    const now = ctx.clock.now();
    const lookup = lookupOf(entry.value.recipient);
    const index = await getUserIndex(ctx.kv, lookup);
    const user = index.value
      ? await getUserEntry(ctx.kv, index.value)
      : emptyUserEntry(newId("usr", now));
    if (user.value && user.value.status !== "active") {
      if (await consumeRequest(ctx.kv, entry)) throw accountDisabled(user.value);
    } else {
      const save = userToSave(ctx, user, lookup, now);
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
      if (committed) {
        const signedIn = (save ?? user.value)!;
        ctx.log.info("signed in", {
          otp_request_id: request.id,
          user_id: userId,
          new_user: !user.value,
        });
        await emitEvent(ctx, "otp", "otp.verified", {
          request_id: request.id,
          recipient: maskRecipient(request.recipient),
          user_id: userId,
          new_user: !user.value,
        });
        await recordActivity(ctx, userId, { heartbeat: false });
        return await signInAnswer(ctx, signedIn, {
          familyId: session.family.id,
          refreshToken: session.refreshToken,
        });
      }
    }
    // Something changed under us: the request was used by a parallel attempt (then it is
    // gone), or the user was written meanwhile. Read again; the code already matched.
    entry = await liveRequest(ctx, input.requestId);
  }
}

/** What to write for the signing-in user: a new user, an admin promotion, or nothing. */
function userToSave(
  ctx: AppContext,
  user: Deno.KvEntryMaybe<User>,
  lookup: UserLookup,
  now: number,
): User | null {
  const bootstrapAdmin =
    (lookup.kind === "phone" && ctx.config.adminPhones.includes(lookup.value)) ||
    (lookup.kind === "email" && ctx.config.adminEmails.includes(lookup.value));
  if (user.value) {
    if (!bootstrapAdmin || user.value.role === "admin") return null;
    return { ...user.value, role: "admin", updatedAt: now };
  }
  return {
    id: String(user.key[1]),
    phone: lookup.kind === "phone" ? lookup.value : null,
    email: lookup.kind === "email" ? lookup.value : null,
    telegramId: lookup.kind === "telegram" ? lookup.value : null,
    status: "active",
    role: bootstrapAdmin ? "admin" : "user",
    createdAt: now,
    updatedAt: now,
  };
}

/** A request that exists and has not expired, or 400 `INVALID_CODE`. */
async function liveRequest(ctx: AppContext, id: string): Promise<Deno.KvEntry<OtpRequest>> {
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

function lookupOf(recipient: string): UserLookup {
  const at = recipient.indexOf(":");
  return { kind: recipient.slice(0, at), value: recipient.slice(at + 1) } as UserLookup;
}
