import {
  addOtpDelivery,
  addReplaceRequest,
  getRequest,
  type OtpRequest,
  type StoredRequest,
  type TelegramMessageRef,
} from "../../kv/otp_requests.ts";
import {
  getPending,
  getPhoneOfChat,
  getStart,
  linkPhone,
  setPending,
  unlinkChat,
} from "../../kv/telegram.ts";
import { CONFLICT, KvContention, retry } from "../../kv/retry.ts";
import { Writes } from "../../kv/writes.ts";
import { generateCode, hashCode } from "../auth/codes.ts";
import {
  formatRecipient,
  maskRecipient,
  normalizePhone,
  parseRecipient,
} from "../auth/recipients.ts";
import { linkTelegram } from "../account/telegram_link.ts";
import { addTries, otpDeliveryOf } from "../delivery/log.ts";
import { codeMessage } from "../delivery/messages.ts";
import { type Delivered, type DeliveryRouter, NotDelivered } from "../delivery/router.ts";
import { addEventWrites } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";

/** What the bot's flows use: the services, the delivery router and code-message deletion. */
export interface TelegramFlowContext extends Services {
  delivery: DeliveryRouter;
  telegram: { deleteCodeMessage(ref: TelegramMessageRef | null): Promise<void> };
}

/** The person on the other side of a private chat. */
export interface TelegramChat {
  /** Chat id; in a private chat it is the person's Telegram id. */
  id: string;
  firstName?: string;
}

/** What the bot should tell the person after `/start <token>`. */
export type StartOutcome = "sent" | "share_phone" | "expired" | "failed" | "linked" | "in_use";

/**
 * Continues the request behind a deep link in this chat: a deep-link sign-in gets its code
 * here, as does a phone request whose phone this chat already shared; otherwise the person is
 * asked to share their phone number. A signed-in user's Telegram link links this account.
 */
export async function continueRequest(
  ctx: TelegramFlowContext,
  token: string,
  chat: TelegramChat,
): Promise<{ outcome: StartOutcome; phone?: string }> {
  const requestId = await getStart(ctx.kv, token);
  const stored = requestId ? await liveRequest(ctx, requestId) : null;
  if (!stored) return { outcome: "expired" };
  const request = stored.entry;
  const recipient = parseRecipient(request.value.recipient);
  if (request.value.contactOf && recipient.kind === "start") {
    // A signed-in user's link: this Telegram account joins their account, no code needed.
    return { outcome: await linkTelegram(ctx, request.value.id, chat.id) };
  }
  if (recipient.kind === "phone") {
    const phone = recipient.value;
    if ((await getPhoneOfChat(ctx.kv, chat.id)) !== phone) {
      await setPending(
        ctx.kv,
        chat.id,
        request.value.id,
        request.value.expiresAt - ctx.clock.now(),
      );
      return { outcome: "share_phone", phone };
    }
  } else if (
    recipient.kind !== "start" && !(recipient.kind === "telegram" && recipient.value === chat.id)
  ) {
    // Someone else's deep link (a Telegram sign-in already bound to another chat).
    return { outcome: "expired" };
  }
  return { outcome: await sendCodeToChat(ctx, request.value.id, chat) };
}

/** What the bot should tell the person after they shared a contact. */
export type ContactOutcome =
  | { outcome: "not_own" }
  | { outcome: "invalid" }
  | { outcome: "linked"; phone: string; sent: boolean; pendingFor?: string };

/**
 * A shared contact links its phone to this chat, if it is the sender's own (Telegram vouches
 * for the number of your own contact). A sign-in waiting on this chat for that phone then
 * gets its code.
 */
export async function sharePhone(
  ctx: TelegramFlowContext,
  chat: TelegramChat,
  contact: { phone?: string; userId?: string },
): Promise<ContactOutcome> {
  if (contact.userId !== chat.id) return { outcome: "not_own" };
  const digits = (contact.phone ?? "").replace(/[^\d]/g, "");
  const phone = normalizePhone(`+${digits}`);
  if (!phone) return { outcome: "invalid" };
  await linkPhone(ctx.kv, phone, chat.id);
  ctx.log.info("telegram chat linked", { phone: maskRecipient({ kind: "phone", value: phone }) });
  const pendingId = await getPending(ctx.kv, chat.id);
  const pending = pendingId ? (await liveRequest(ctx, pendingId))?.entry : null;
  if (!pending) return { outcome: "linked", phone, sent: false };
  const pendingFor = parseRecipient(pending.value.recipient);
  const wanted = pendingFor.kind === "phone" ? pendingFor.value : null;
  if (wanted !== phone) {
    return { outcome: "linked", phone, sent: false, pendingFor: wanted ?? undefined };
  }
  const outcome = await sendCodeToChat(ctx, pending.value.id, chat);
  return { outcome: "linked", phone, sent: outcome === "sent" };
}

/** Unlinks this chat's phone; returns it, or null when there was none. */
export function unlink(ctx: TelegramFlowContext, chat: TelegramChat): Promise<string | null> {
  return unlinkChat(ctx.kv, chat.id);
}

/**
 * Gives a request a fresh code and sends it to the chat (the code is only ever kept as a
 * hash, so a code sent later is a new one). A deep-link sign-in becomes this chat's.
 */
async function sendCodeToChat(
  ctx: TelegramFlowContext,
  requestId: string,
  chat: TelegramChat,
): Promise<"sent" | "expired" | "failed"> {
  const settings = await ctx.settings.get();
  const code = generateCode(settings.otp_length);
  let replaced: { request: OtpRequest; previous: TelegramMessageRef | null } | null;
  try {
    replaced = await retry(`give request "${requestId}" a Telegram code`, async () => {
      const stored = await liveRequest(ctx, requestId);
      if (!stored) return null;
      const entry = stored.entry;
      const next: OtpRequest = {
        ...entry.value,
        // A deep-link sign-in becomes this chat's.
        recipient: parseRecipient(entry.value.recipient).kind === "start"
          ? formatRecipient({ kind: "telegram", value: chat.id })
          : entry.value.recipient,
        channel: "telegram",
        codeHash: await hashCode(ctx.codeKey, requestId, code),
      };
      const writes = addReplaceRequest(new Writes(), entry, next, ctx.clock.now());
      if (!await ctx.commits.commit(writes)) return CONFLICT;
      return { request: next, previous: stored.delivery?.telegram ?? null };
    });
  } catch (error) {
    if (error instanceof KvContention) return "failed";
    throw error;
  }
  if (!replaced) return "expired";
  const { request: sentFor, previous } = replaced;
  const lifetime = Math.max(1, Math.round((sentFor.expiresAt - ctx.clock.now()) / 1000));
  const recipient = maskRecipient(parseRecipient(sentFor.recipient));
  let sent: Delivered;
  try {
    sent = await ctx.delivery.deliver(
      [{ channel: "telegram", provider: "bot", to: chat.id }],
      Object.assign(
        codeMessage(code, lifetime, {
          locale: sentFor.locale,
          appName: ctx.config.appName,
          name: chat.firstName,
          deletesAfterSeconds: settings.telegram_autodelete_seconds,
        }),
        { code, ttlSeconds: lifetime },
      ),
    );
  } catch (error) {
    const tried = error instanceof NotDelivered ? error.tried : [];
    const now = ctx.clock.now();
    const event = ctx.bus.newEvent("otp", "otp.failed", now, {
      request_id: requestId,
      recipient,
      reason: "delivery",
    });
    const writes = addEventWrites(new Writes(), event, now);
    addTries(writes, requestId, tried);
    await commitEvent(ctx, writes, event);
    return "failed";
  }
  const now = ctx.clock.now();
  const event = ctx.bus.newEvent("otp", "otp.sent", now, {
    request_id: requestId,
    recipient,
    channel: "telegram",
    provider: sent.provider,
  });
  const writes = addEventWrites(new Writes(), event, now);
  const logged = addTries(writes, requestId, sent.tried);
  addOtpDelivery(
    writes,
    requestId,
    otpDeliveryOf(sent, logged[logged.length - 1], null),
    sentFor.expiresAt,
    now,
  );
  await commitEvent(ctx, writes, event);
  // An older code of this request is void now; its message goes.
  await ctx.telegram.deleteCodeMessage(previous);
  return "sent";
}

/** Commits an event with its writes and publishes it; a lost event is only logged. */
async function commitEvent(
  ctx: TelegramFlowContext,
  writes: Writes,
  event: LiveEvent,
): Promise<void> {
  try {
    await ctx.commits.commit(writes);
  } catch (error) {
    ctx.log.warn("event not logged", { type: String(event.data.type), error: String(error) });
  }
  ctx.bus.publish(event);
}

async function liveRequest(ctx: TelegramFlowContext, id: string): Promise<StoredRequest | null> {
  const stored = await getRequest(ctx.kv, id);
  if (!stored || stored.entry.value.expiresAt <= ctx.clock.now()) return null;
  return stored;
}
