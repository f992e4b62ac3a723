import {
  type ChannelName,
  type OtpRequest,
  readRequestGuards,
  saveRequest,
  setRequestTelegram,
  withdrawRequest,
} from "../../kv/otp_requests.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { getChatOfPhone } from "../../kv/telegram.ts";
import { codeMessage } from "../delivery/messages.ts";
import type { DeliveryAttempt, DeliveryRouter } from "../delivery/router.ts";
import { AppError, rateLimited } from "../errors.ts";
import { newId } from "../ids.ts";
import { countInWindow, refundInWindow } from "../limits.ts";
import { emitEvent } from "../live/emit.ts";
import type { Services } from "../services.ts";
import { generateCode, hashCode, toBase64Url } from "./codes.ts";
import {
  type ContactRecipient,
  formatRecipient,
  maskRecipient,
  type Recipient,
} from "./recipients.ts";

/** What a code request uses: the services, the delivery router and Telegram deep links. */
export interface CodeRequestContext extends Services {
  delivery: DeliveryRouter;
  /** Null without a Telegram bot. */
  telegram: { deepLink(token: string): Promise<string> } | null;
}

const HOUR_MS = 3_600_000;

/** How the client asked for the code to travel. */
export type ChannelChoice = "auto" | "sms" | "telegram" | "email";

/** The 202 answer of a code request. */
export interface CodeRequested {
  request_id: string;
  channel: ChannelName;
  expires_in: number;
  resend_after: number;
  deep_link?: string;
}

/**
 * Issues a code: checks the limits, stores the request (replacing the recipient's previous
 * one) and delivers it, falling back to the next channel on failure. Does the same work
 * whether or not the recipient has an account, so neither answer nor timing tell.
 *
 * With `channel: "telegram"` the answer always carries a deep link; the code goes out now only
 * when the phone is already linked to a chat, else once the person opens the link and shares
 * that phone with the bot. Without a recipient, the code goes to whoever opens the link.
 */
export async function requestCode(
  ctx: CodeRequestContext,
  input: { recipient: ContactRecipient | null; channel: ChannelChoice; ip: string },
): Promise<CodeRequested> {
  const { recipient, ip } = input;
  const viaDeepLink = input.channel === "telegram" || recipient === null;
  if (viaDeepLink && !ctx.telegram) {
    throw new AppError("CHANNEL_UNAVAILABLE", "Telegram sign-in is not configured.");
  }
  // Looked up for every phone, linked or not, so the time taken does not tell.
  const chatId = recipient?.kind === "phone" ? await getChatOfPhone(ctx.kv, recipient.value) : null;
  const plan = deliveryPlan(ctx, recipient, input.channel, chatId);
  if (!viaDeepLink && plan.length === 0) {
    throw new AppError(
      "CHANNEL_UNAVAILABLE",
      `No channel that can reach this ${recipient?.kind ?? "recipient"} is configured.`,
    );
  }
  const settings = await ctx.settings.get();
  const startToken = viaDeepLink ? toBase64Url(crypto.getRandomValues(new Uint8Array(24))) : null;
  const deepLink = startToken ? await ctx.telegram!.deepLink(startToken) : undefined;
  const to: Recipient = recipient ?? { kind: "start", value: startToken! };
  const key = formatRecipient(to);
  const code = plan.length > 0 ? generateCode(settings.otp_length) : null;

  const issued = await retry("store a code request", async () => {
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
        recipient: maskRecipient(to),
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
      channel: plan[0]?.channel ?? "telegram",
      codeHash: code ? await hashCode(ctx.codeKey, id, code) : null,
      createdAt: now,
      expiresAt: now + settings.otp_ttl_seconds * 1000,
      attempts: 0,
      maxAttempts: settings.otp_max_attempts,
      telegram: null,
    };
    const saved = await saveRequest(ctx.kv, {
      request: candidate,
      guards,
      recipientWindow: byRecipient.next,
      ipWindow: byIp.next,
      windowMs: HOUR_MS,
      cooldownUntil: now + settings.otp_resend_cooldown_seconds * 1000,
      startToken,
    });
    return saved ? candidate : CONFLICT;
  });

  let channel: ChannelName = issued.channel;
  if (code) {
    try {
      const sent = await ctx.delivery.deliver(
        plan,
        (via) =>
          codeMessage(code, settings.otp_ttl_seconds, {
            deletesAfterSeconds: via === "telegram"
              ? settings.telegram_autodelete_seconds
              : undefined,
          }),
      );
      channel = sent.channel;
      const { chatId, messageId, deleteAt } = sent.receipt;
      if (chatId !== undefined && messageId !== undefined && deleteAt !== undefined) {
        await setRequestTelegram(
          ctx.kv,
          issued.id,
          { chatId, messageId, deleteAt },
          ctx.clock.now(),
        );
      }
    } catch (error) {
      await emitEvent(ctx, "otp", "otp.failed", {
        request_id: issued.id,
        recipient: maskRecipient(to),
        reason: "delivery",
      });
      await withdrawRequest(ctx.kv, issued, {
        ip,
        refund: (counter) => refundInWindow(counter, { windowMs: HOUR_MS, at: issued.createdAt }),
      });
      throw error;
    }
    ctx.log.info("code sent", { otp_request_id: issued.id, channel });
    await emitEvent(ctx, "otp", "otp.sent", {
      request_id: issued.id,
      recipient: maskRecipient(to),
      channel,
    });
  } else {
    await emitEvent(ctx, "otp", "otp.requested", {
      request_id: issued.id,
      recipient: recipient ? maskRecipient(recipient) : null,
      channel: "telegram",
    });
  }
  const answer: CodeRequested = {
    request_id: issued.id,
    channel,
    expires_in: settings.otp_ttl_seconds,
    resend_after: settings.otp_resend_cooldown_seconds,
  };
  if (deepLink) answer.deep_link = deepLink;
  return answer;
}

/**
 * The channels to try, in order. `auto` prefers the Telegram chat a phone is linked to and
 * falls back to SMS; an explicit `telegram` never falls back (the deep link is the way on).
 */
function deliveryPlan(
  ctx: CodeRequestContext,
  recipient: ContactRecipient | null,
  choice: ChannelChoice,
  chatId: string | null,
): DeliveryAttempt[] {
  if (!recipient) return [];
  if (recipient.kind === "email") return keep(ctx, [{ channel: "email", to: recipient.value }]);
  const telegram: DeliveryAttempt[] = chatId ? [{ channel: "telegram", to: chatId }] : [];
  const sms: DeliveryAttempt[] = [{ channel: "sms", to: recipient.value }];
  switch (choice) {
    case "telegram":
      return keep(ctx, telegram);
    case "sms":
      return keep(ctx, sms);
    default:
      return keep(ctx, [...telegram, ...sms]);
  }
}

function keep(ctx: CodeRequestContext, plan: DeliveryAttempt[]): DeliveryAttempt[] {
  return plan.filter((attempt) => ctx.delivery.has(attempt.channel));
}
