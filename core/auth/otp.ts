import {
  addNewRequest,
  addTelegramMessage,
  addWithdrawRequest,
  type ChannelName,
  getRecipientRecord,
  type OtpRequest,
  readRequestGuards,
  type RecipientRecord,
  storedRequest,
} from "../../kv/otp_requests.ts";
import { addIpCount, addIpRefund, readIpCounter, SHARED_BUCKET_MS } from "../../kv/limits.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { addStatCounts } from "../../kv/stats.ts";
import { Writes } from "../../kv/writes.ts";
import { codeMessage } from "../delivery/messages.ts";
import { type DeliveryAttempt, type DeliveryRouter, NotDelivered } from "../delivery/router.ts";
import { AppError, rateLimited } from "../errors.ts";
import { newId } from "../ids.ts";
import { countInWindow, refundInWindow } from "../limits.ts";
import { addEventWrites, emitEvent } from "../live/emit.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";
import type { Admissions } from "./admissions.ts";
import type { IssuedRequests } from "./issued_requests.ts";
import { generateCode, hashCode, toBase64Url } from "./codes.ts";
import {
  type ContactRecipient,
  formatRecipient,
  limitKeyOf,
  maskRecipient,
  parseRecipient,
  type Recipient,
} from "./recipients.ts";

/** What a code request uses: the services, delivery, Telegram deep links, IP admissions. */
export interface CodeRequestContext extends Services {
  delivery: DeliveryRouter;
  /** Null without a Telegram bot. */
  telegram: { deepLink(token: string): Promise<string> } | null;
  /** Code requests per client IP admitted here and not yet seen by every read. */
  admissions: Admissions;
  /** Requests this instance stored, for a verify that arrives here. */
  issued: IssuedRequests;
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
 * One read (the recipient's record, the phone's Telegram link, the IP's counters) and one
 * share of a group commit decide and store it; the per-IP counter is a conflict-free sum, so
 * requests from one IP never contend. `otp.sent` rides a second, shared commit.
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
  const settings = await ctx.settings.get();
  const startToken = viaDeepLink ? toBase64Url(crypto.getRandomValues(new Uint8Array(24))) : null;
  const deepLink = startToken ? await ctx.telegram!.deepLink(startToken) : undefined;
  const to: Recipient = recipient ?? { kind: "start", value: startToken! };
  const key = formatRecipient(to);
  const limitKey = limitKeyOf(to);

  const issued = await retry("store a code request", async () => {
    const now = ctx.clock.now();
    // Read for every phone, linked or not, so the time taken does not tell.
    const [guards, ipCount] = await Promise.all([
      readRequestGuards(ctx.kv, {
        recipient: limitKey,
        phone: recipient?.kind === "phone" ? recipient.value : null,
      }),
      ctx.admissions.counted(
        ip,
        () => readIpCounter(ctx.kv, "requests", { ip, now, windowMs: HOUR_MS }),
      ),
    ]);
    const plan = deliveryPlan(ctx, recipient, input.channel, guards.chatId);
    if (!viaDeepLink && plan.length === 0) {
      throw new AppError(
        "CHANNEL_UNAVAILABLE",
        `No channel that can reach this ${recipient?.kind ?? "recipient"} is configured.`,
      );
    }
    const record = guards.record.value;
    // No cooldown configured leaves none behind (`cooldownRequestId` is null then).
    const cooldownMs = record?.cooldownRequestId ? record.cooldownUntil - now : 0;
    const byRecipient = countInWindow(record?.window ?? null, {
      limit: settings.otp_rate_limit_per_hour,
      windowMs: HOUR_MS,
      now,
    });
    const byIp = countInWindow({ buckets: ipCount.buckets }, {
      limit: settings.otp_ip_rate_limit_per_hour,
      windowMs: HOUR_MS,
      now,
      bucketMs: SHARED_BUCKET_MS,
      unseen: ctx.admissions.unseen(ip, ipCount.readAt),
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
    // Counted from the moment it is let in (no await in between), so a request deciding
    // meanwhile sees it among the unseen ones.
    const landed = ctx.admissions.admit(ip);
    let versionstamp: string | null = null;
    try {
      const id = newId("otp", now);
      const code = plan.length > 0 ? generateCode(settings.otp_length) : null;
      const request: OtpRequest = {
        id,
        recipient: key,
        channel: plan[0]?.channel ?? "telegram",
        codeHash: code ? await hashCode(ctx.codeKey, id, code) : null,
        createdAt: now,
        expiresAt: now + settings.otp_ttl_seconds * 1000,
        attempts: 0,
        maxAttempts: settings.otp_max_attempts,
      };
      const cooldownUntil = now + settings.otp_resend_cooldown_seconds * 1000;
      const next: RecipientRecord = {
        activeRequestId: id,
        window: byRecipient.next,
        cooldownUntil,
        cooldownRequestId: cooldownUntil > now ? id : null,
      };
      const writes = addNewRequest(new Writes(), {
        request,
        record: guards.record,
        next,
        windowMs: HOUR_MS,
        startToken,
      });
      addIpCount(writes, "requests", ip, now);
      addStatCounts(writes, now, ["requested"]);
      // A deep link nobody opened yet has nothing to send: the request is the event.
      const events: LiveEvent[] = code ? [] : [
        ctx.bus.newEvent("otp", "otp.requested", now, {
          request_id: id,
          recipient: recipient ? maskRecipient(recipient) : null,
          channel: "telegram",
        }),
      ];
      for (const event of events) addEventWrites(writes, event, now);
      versionstamp = await ctx.commits.commit(writes);
      if (!versionstamp) return CONFLICT;
      ctx.issued.remember(storedRequest(request, versionstamp));
      ctx.bus.publish(...events);
      return { request, code, plan };
    } finally {
      landed(versionstamp !== null);
    }
  });

  const { request, code, plan } = issued;
  let channel: ChannelName = request.channel;
  if (code) {
    let sent;
    try {
      sent = await ctx.delivery.deliver(
        plan,
        (via) =>
          codeMessage(code, settings.otp_ttl_seconds, {
            deletesAfterSeconds: via === "telegram"
              ? settings.telegram_autodelete_seconds
              : undefined,
          }),
      );
    } catch (error) {
      // Counts come back only when nothing can have been sent: a gateway that took the
      // message and then failed must not let more messages out than the limits.
      await withdraw(ctx, request, ip, {
        refund: !(error instanceof NotDelivered && error.mayHaveSent),
      });
      throw error;
    }
    channel = sent.channel;
    const now = ctx.clock.now();
    const event = ctx.bus.newEvent("otp", "otp.sent", now, {
      request_id: request.id,
      recipient: maskRecipient(to),
      channel,
    });
    const writes = addEventWrites(new Writes(), event, now);
    const { chatId, messageId, deleteAt } = sent.receipt;
    if (chatId !== undefined && messageId !== undefined && deleteAt !== undefined) {
      addTelegramMessage(
        writes,
        request.id,
        { chatId, messageId, deleteAt },
        request.expiresAt,
        now,
      );
      // The copy kept for a verify would not know where the message is: it reads it instead.
      ctx.issued.forget(request.id);
    }
    try {
      await ctx.commits.commit(writes);
    } catch (error) {
      ctx.log.warn("event not logged", { type: "otp.sent", error: String(error) });
    }
    ctx.bus.publish(event);
    ctx.log.info("code sent", { otp_request_id: request.id, channel });
  }
  const answer: CodeRequested = {
    request_id: request.id,
    channel,
    expires_in: settings.otp_ttl_seconds,
    resend_after: settings.otp_resend_cooldown_seconds,
  };
  if (deepLink) answer.deep_link = deepLink;
  return answer;
}

/**
 * Takes back a request whose code could not be delivered: the request goes (its answer was an
 * error, so no client holds its id), and so does its resend cooldown (try again at once). With
 * `refund` — no provider was reached, nothing can have been sent — its place in the recipient's
 * window and the IP's counter come back too, so a provider that is down does not lock people
 * out; a provider that answered an error or timed out may have sent it, so it stays counted.
 * `otp.failed` commits with it.
 */
async function withdraw(
  ctx: CodeRequestContext,
  request: OtpRequest,
  ip: string,
  options: { refund: boolean },
): Promise<void> {
  const event = ctx.bus.newEvent("otp", "otp.failed", ctx.clock.now(), {
    request_id: request.id,
    recipient: maskRecipient(parseRecipient(request.recipient)),
    reason: "delivery",
    counted: !options.refund,
  });
  await retry(`withdraw request "${request.id}"`, async () => {
    const now = ctx.clock.now();
    const record = await getRecipientRecord(ctx.kv, limitKeyOf(parseRecipient(request.recipient)));
    const writes = addWithdrawRequest(new Writes(), {
      request,
      record,
      refund: options.refund
        ? (window) => refundInWindow(window, { windowMs: HOUR_MS, at: request.createdAt })
        : null,
      windowMs: HOUR_MS,
    });
    if (options.refund) addIpRefund(writes, ip, request.createdAt);
    addEventWrites(writes, event, now);
    return await ctx.commits.commit(writes) ? undefined : CONFLICT;
  });
  ctx.issued.forget(request.id);
  if (options.refund) ctx.admissions.takeBack(ip);
  ctx.bus.publish(event);
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
