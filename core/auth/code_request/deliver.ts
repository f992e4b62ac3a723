import { addDelivery } from "../../../kv/deliveries.ts";
import { addIpRefund } from "../../../kv/limits.ts";
import {
  addOtpDelivery,
  addWithdrawRequest,
  getRecipientRecord,
  type OtpRequest,
} from "../../../kv/otp_requests.ts";
import { CONFLICT, retry } from "../../../kv/retry.ts";
import { Writes } from "../../../kv/writes.ts";
import { addTries, newDeliveryId, otpDeliveryOf } from "../../delivery/log.ts";
import { codeMessage } from "../../delivery/messages.ts";
import { type Delivered, NotDelivered, type TriedAttempt } from "../../delivery/router.ts";
import type { SmsRefusalReason, SmsVerdict } from "../../delivery/sms_protection.ts";
import { refundInWindow } from "../../limits.ts";
import { addEventWrites, emitEvent } from "../../live/emit.ts";
import { limitKeyOf, maskRecipient, parseRecipient, type Recipient } from "../recipients.ts";
import { type CodeRequestContext, HOUR_MS, type Plan } from "./context.ts";

/**
 * Sends a stored request's code along its plan, then logs every try, `otp.sent` and how the
 * code went out in one shared commit. An SMS counted for a request that another channel
 * delivered is taken back in that commit. When nothing delivered, the request is withdrawn.
 */
export async function deliverCode(
  ctx: CodeRequestContext,
  options: {
    request: OtpRequest;
    code: string;
    plan: Plan;
    ip: string;
    to: Recipient;
    locale: string;
  },
): Promise<Delivered> {
  const { request, code, plan, ip, to, locale } = options;
  const settings = await ctx.settings.get();
  const ttlSeconds = Math.max(1, Math.round((request.expiresAt - request.createdAt) / 1000));
  let delivered: Delivered;
  try {
    // `Object.assign`, not a spread: the message renders each medium only when it is read.
    delivered = await ctx.delivery.deliver(plan.attempts, (via) =>
      Object.assign(
        codeMessage(code, ttlSeconds, {
          locale,
          appName: ctx.config.appName,
          deletesAfterSeconds: via === "telegram"
            ? settings.telegram_autodelete_seconds
            : undefined,
        }),
        { code, ttlSeconds, requestId: request.id },
      ));
  } catch (error) {
    if (!(error instanceof NotDelivered)) throw error;
    // Counts come back only when nothing can have been sent: a gateway that took the
    // message and then failed must not let more messages out than the limits.
    const smsTry = error.tried.find((attempt) => attempt.channel === "sms");
    await withdraw(ctx, request, ip, {
      refund: !error.mayHaveSent,
      tried: error.tried,
      smsRefund: plan.smsPrefix !== null && !(smsTry?.mayHaveSent ?? false) ? plan.smsPrefix : null,
    });
    // SMS was not tried because protection refused it: that is the answer, logged like a
    // refusal with nothing else to try.
    if (plan.smsRefused) await refuse(ctx, to, plan.smsRefused, request.id);
    throw error;
  }
  const now = ctx.clock.now();
  const event = ctx.bus.newEvent("otp", "otp.sent", now, {
    request_id: request.id,
    recipient: maskRecipient(to),
    channel: delivered.channel,
    provider: delivered.provider,
  });
  const writes = addEventWrites(new Writes(), event, now);
  const logged = addTries(writes, request.id, delivered.tried);
  const delivery = otpDeliveryOf(delivered, logged[logged.length - 1], plan.smsPrefix);
  // A verify needs it for a Telegram message to delete, a Gateway to tell, or an SMS the
  // request itself does not name (one that came after another channel failed).
  const needed = delivery.telegram !== null || delivered.channel === "telegram" ||
    (delivery.smsPrefix !== null && request.smsPrefix === undefined);
  if (needed) addOtpDelivery(writes, request.id, delivery, request.expiresAt, now);
  const smsLanded = plan.smsPrefix && delivered.channel !== "sms"
    ? ctx.smsProtection.count(writes, plan.smsPrefix, request.createdAt, -1)
    : null;
  let committed = false;
  try {
    committed = await ctx.commits.commit(writes) !== null;
  } catch (error) {
    ctx.log.warn("event not logged", { type: "otp.sent", error: String(error) });
  } finally {
    smsLanded?.(committed);
  }
  // The copy kept for a verify learns where the code went (its Telegram message, its range).
  if (committed && needed) ctx.issued.delivered(request.id, delivery);
  else if (!committed) ctx.issued.forget(request.id);
  ctx.bus.publish(event);
  ctx.log.info("code sent", {
    otp_request_id: request.id,
    channel: delivered.channel,
    provider: delivered.provider,
  });
  return delivered;
}

/**
 * Answers a request SMS protection refused and no other channel could take: `otp.rate_limited`
 * for a range over its hourly cap, else `otp.refused` with a `refused` delivery log entry, in
 * one commit. `requestId` names the request when it was stored (and its other tries failed).
 * Throws the refusal.
 */
export async function refuse(
  ctx: CodeRequestContext,
  to: Recipient,
  verdict: Extract<SmsVerdict, { ok: false }>,
  requestId: string | null = null,
): Promise<never> {
  const now = ctx.clock.now();
  const masked = maskRecipient(to);
  if (verdict.reason === "range_limit") {
    await emitEvent(ctx, "otp", "otp.rate_limited", {
      recipient: masked,
      limit: "range",
      prefix: verdict.prefix,
    });
    throw verdict.error;
  }
  const event = ctx.bus.newEvent("otp", "otp.refused", now, {
    ...(requestId ? { request_id: requestId } : {}),
    recipient: masked,
    channel: "sms",
    reason: verdict.reason,
    prefix: verdict.prefix,
    country: verdict.country,
  });
  const writes = addEventWrites(new Writes(), event, now);
  addDelivery(writes, {
    id: newDeliveryId(now),
    at: now,
    requestId,
    channel: "sms",
    provider: "doorman",
    to: masked,
    country: verdict.country,
    status: "refused",
    providerId: null,
    latencyMs: null,
    error: refusalReasons[verdict.reason],
    updatedAt: null,
  });
  try {
    await ctx.commits.commit(writes);
  } catch (error) {
    ctx.log.warn("event not logged", { type: "otp.refused", error: String(error) });
  }
  ctx.bus.publish(event);
  throw verdict.error;
}

const refusalReasons: Record<SmsRefusalReason, string> = {
  country: "SMS to this country is not allowed (SMS_ALLOWED_COUNTRIES)",
  premium: "premium-rate or shared-cost number",
  blocked: "number range blocked for SMS",
  range_limit: "number range over its hourly SMS cap",
  budget: "daily SMS budget spent (SMS_DAILY_LIMIT)",
};

/**
 * Takes back a request whose code could not be delivered: the request goes (its answer was an
 * error, so no client holds its id), and so does its resend cooldown (try again at once). With
 * `refund` — no provider was reached, nothing can have been sent — its place in the recipient's
 * window and the IP's counter come back too, so a provider that is down does not lock people
 * out; a provider that answered an error or timed out may have sent it, so it stays counted.
 * An SMS counted against a number range comes back when no SMS can have gone out. Every try
 * and `otp.failed` commit with it.
 */
async function withdraw(
  ctx: CodeRequestContext,
  request: OtpRequest,
  ip: string,
  options: { refund: boolean; tried: TriedAttempt[]; smsRefund: string | null },
): Promise<void> {
  const event = ctx.bus.newEvent("otp", "otp.failed", ctx.clock.now(), {
    request_id: request.id,
    recipient: maskRecipient(parseRecipient(request.recipient)),
    reason: "delivery",
    counted: !options.refund,
  });
  let smsLanded: ((committed: boolean) => void) | null = null;
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
    if (options.smsRefund) {
      smsLanded = ctx.smsProtection.count(writes, options.smsRefund, request.createdAt, -1);
    }
    addTries(writes, request.id, options.tried);
    addEventWrites(writes, event, now);
    const committed = await ctx.commits.commit(writes) !== null;
    if (committed) smsLanded?.(true);
    return committed ? undefined : CONFLICT;
  });
  ctx.issued.forget(request.id);
  if (options.refund) ctx.admissions.takeBack(ip);
  ctx.bus.publish(event);
}
