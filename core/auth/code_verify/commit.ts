import { addAttempt, addConsumeRequest, type StoredRequest } from "../../../kv/otp_requests.ts";
import { CONFLICT } from "../../../kv/retry.ts";
import { addOpenSession } from "../../../kv/sessions.ts";
import {
  addSaveUser,
  emptyUserEntry,
  getUserIndex,
  type SigningInUser,
  type User,
  userIdOf,
  type UserLookup,
} from "../../../kv/users.ts";
import { emptyPresenceRecord } from "../../../kv/presence.ts";
import { addSmsVerified } from "../../../kv/sms_protection.ts";
import { addTestRecipientFailure } from "../../../kv/test_recipients.ts";
import { addIpCount } from "../../../kv/limits.ts";
import { Writes } from "../../../kv/writes.ts";
import { addSuspensionEnd, suspensionOver } from "../../admin/suspensions.ts";
import { newId } from "../../ids.ts";
import { addEventWrites } from "../../live/emit.ts";
import { prepareActivity } from "../../presence/presence.ts";
import { maskRecipient, parseRecipient } from "../recipients.ts";
import { newSession } from "../sessions.ts";
import type { SignInOutcome, VerifyContext, WrongCode } from "./context.ts";

/** Spends an attempt of the request for a wrong code, counted against the client IP. */
export async function commitWrongCode(
  ctx: VerifyContext,
  options: { stored: StoredRequest; ip: string; now: number },
): Promise<WrongCode | typeof CONFLICT> {
  const { stored, ip, now } = options;
  const request = stored.entry.value;
  const attemptsLeft = request.maxAttempts - request.attempts - 1;
  const writes = new Writes();
  addAttempt(writes, stored.entry, now);
  addIpCount(writes, "failures", ip, now);
  if (request.test) addTestRecipientFailure(writes, request.recipient, now);
  const event = ctx.bus.newEvent("otp", "otp.invalid", now, {
    request_id: request.id,
    recipient: maskRecipient(parseRecipient(request.recipient)),
    attempts_left: attemptsLeft,
    // A test recipient's events say so (README, "Test recipients").
    ...(request.test ? { test: true } : {}),
  });
  addEventWrites(writes, event, now);
  if (await ctx.commits.commit(writes) === null) return CONFLICT;
  ctx.bus.publish(event);
  return { kind: "wrong", attemptsLeft, request };
}

/**
 * Uses the request up and signs its user in, in one commit: the user created if new (unique
 * indexes checked) or their due suspension end lifted, a new session, the user online. A user
 * who is not active gets only the request used up.
 */
export async function commitSignIn(
  ctx: VerifyContext,
  options: {
    stored: StoredRequest;
    found: SigningInUser;
    lookup: UserLookup;
    input: { ip: string; userAgent?: string | null };
    now: number;
    timeout: number;
  },
): Promise<SignInOutcome | typeof CONFLICT> {
  const { stored, found, lookup, input, now, timeout } = options;
  const request = stored.entry.value;
  const writes = new Writes();
  const storedUser = found.user ?? emptyUserEntry(newId("usr", now));
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
  const userId = userIdOf(user);
  const session = newSession(ctx, userId, {
    now,
    client: { userAgent: input.userAgent, ip: input.ip },
  });
  if (save) addSaveUser(writes, save, storedUser);
  else writes.check(user);
  addOpenSession(writes, session.family);
  const event = ctx.bus.newEvent("otp", "otp.verified", now, {
    request_id: request.id,
    recipient: maskRecipient(parseRecipient(request.recipient)),
    user_id: userId,
    new_user: !user.value,
    // The channel the code came by (the funnel counts it there).
    channel: stored.delivery?.channel ?? request.channel,
    ...(request.test ? { test: true } : {}),
  });
  addEventWrites(writes, event, now);
  const presence = await prepareActivity(ctx, userId, {
    heartbeat: false,
    at: now,
    timeout,
    read: found.presence ?? emptyPresenceRecord(userId),
    newUser: !user.value,
  });
  writes.include(presence.writes);
  const versionstamp = await ctx.commits.commit(writes);
  if (!versionstamp) {
    ctx.presence.cache.forget(userId);
    return CONFLICT;
  }
  const signedIn = (save ?? user.value)!;
  ctx.sessionCache.rememberUser(signedIn);
  ctx.sessionCache.rememberSession(session.family);
  ctx.bus.publish(...lifted?.events ?? [], event);
  presence.done(versionstamp);
  return {
    kind: "signed_in",
    signIn: { user: signedIn, familyId: session.family.id, refreshToken: session.refreshToken },
    newUser: !user.value,
    stored,
  };
}

/** The number range a request's code went to by SMS, if it did. */
export function smsPrefixOf(stored: StoredRequest): string | null {
  return stored.entry.value.smsPrefix ?? stored.delivery?.smsPrefix ?? null;
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
    id: userIdOf(user),
    phone: lookup.kind === "phone" ? lookup.value : null,
    email: lookup.kind === "email" ? lookup.value : null,
    telegramId: lookup.kind === "telegram" ? lookup.value : telegramId,
    status: "active",
    role: bootstrapAdmin ? "admin" : "user",
    createdAt: now,
    updatedAt: now,
  };
}
