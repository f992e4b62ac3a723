import { getRequest, type OtpRequest, spendAttempt } from "../../kv/otp_requests.ts";
import { commitSignIn, consumeRequest } from "../../kv/sign_in.ts";
import {
  emptyUserEntry,
  getUserEntry,
  getUserIndex,
  type User,
  type UserLookup,
} from "../../kv/users.ts";
import { backOff, MAX_CONFLICTS, tooBusy } from "../conflicts.ts";
import type { AppContext } from "../context.ts";
import { AppError } from "../errors.ts";
import { newId } from "../ids.ts";
import { emitEvent, maskRecipient } from "../live/emit.ts";
import { recordActivity } from "../presence/presence.ts";
import { codeMatches } from "./codes.ts";
import { accountDisabled, newSession, type SignIn, signInAnswer } from "./sessions.ts";

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
      if (await consumeRequest(ctx.kv, entry)) {
        await ctx.telegram?.deleteCodeMessage(entry.value.telegram);
        throw accountDisabled(user.value);
      }
    } else {
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
        await ctx.telegram?.deleteCodeMessage(request.telegram ?? entry.value.telegram);
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

/**
 * The Telegram id a phone sign-in through Telegram can record on its user: the chat the code
 * went to, unless the user has one already or another user holds it.
 */
async function freeTelegramId(
  ctx: AppContext,
  request: OtpRequest,
  user: User | null,
): Promise<string | null> {
  const chatId = request.telegram?.chatId;
  if (!chatId || !request.recipient.startsWith("phone:") || user?.telegramId) return null;
  const index = await getUserIndex(ctx.kv, { kind: "telegram", value: chatId });
  return index.value === null ? chatId : null;
}

/** What to write for the signing-in user: a new user, a promotion, a new link, or nothing. */
function userToSave(
  ctx: AppContext,
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
