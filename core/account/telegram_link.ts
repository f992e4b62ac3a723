import { addConsumeRequest, getRequest } from "../../kv/otp_requests.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { addSaveUser, getUserAndIndex } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { type CodeRequestContext, requestCode } from "../auth/otp.ts";
import { AppError } from "../errors.ts";
import { addEventWrites } from "../live/emit.ts";
import type { Services } from "../services.ts";
import { contactChanged, contactChangedEvent, withContact } from "./contact_change.ts";

/**
 * A deep link that links the Telegram account pressing Start in it to this user: a code
 * request without a recipient (under the client IP's cap, expiring like a code) that
 * remembers whose it is. Nothing is sent until the link is opened.
 */
export async function startTelegramLink(
  ctx: CodeRequestContext,
  userId: string,
  input: { ip: string; locale?: string },
): Promise<{ deep_link: string; expires_in: number }> {
  if (!ctx.telegram) {
    throw new AppError("CHANNEL_UNAVAILABLE", "Telegram is not configured.");
  }
  const answer = await requestCode(ctx, {
    recipient: null,
    channel: "telegram",
    ip: input.ip,
    locale: input.locale,
    contactOf: userId,
  });
  return { deep_link: answer.deep_link!, expires_in: answer.expires_in };
}

/** What pressing Start in a link's chat did. */
export type TelegramLinkOutcome = "linked" | "in_use" | "expired";

/**
 * Links the Telegram account of `chatId` (a private chat's id is its person's) to the user a
 * link request was made for, in one commit: the request used up, the id set on the user, its
 * index claimed (it must be free) and the user's earlier one dropped. A Telegram account of
 * another user is `in_use` and nothing changes; a used, expired or unknown link `expired`.
 */
export async function linkTelegram(
  ctx: Services,
  requestId: string,
  chatId: string,
): Promise<TelegramLinkOutcome> {
  const done = await retry(`link Telegram by request "${requestId}"`, async () => {
    const now = ctx.clock.now();
    const stored = await getRequest(ctx.kv, requestId);
    const userId = stored?.entry.value.contactOf;
    if (!stored || !userId || stored.entry.value.expiresAt <= now) return "expired";
    const lookup = { kind: "telegram", value: chatId } as const;
    const { user, index } = await getUserAndIndex(ctx.kv, userId, lookup);
    if (!user.value || user.value.status !== "active") return "expired";
    if (index.value !== null && index.value !== userId) return "in_use";
    const writes = addConsumeRequest(new Writes(), stored);
    const old = user.value.telegramId;
    if (old === chatId) {
      return await ctx.commits.commit(writes.check(user, index)) ? "linked" : CONFLICT;
    }
    const next = withContact(user.value, "telegram", chatId, now);
    addSaveUser(writes, next, user);
    const event = contactChangedEvent(ctx, { userId, kind: "telegram", old, next: chatId, now });
    addEventWrites(writes, event, now);
    if (!await ctx.commits.commit(writes)) return CONFLICT;
    return { user: next, event };
  });
  if (typeof done === "string") return done;
  contactChanged(ctx, done.user, done.event);
  ctx.log.info("telegram linked", { user_id: done.user.id });
  return "linked";
}
