import type { CodeRequested } from "../../contract/api.ts";
import { addDelivery, type Delivery } from "../../kv/deliveries.ts";
import {
  addNewRequest,
  addOtpDelivery,
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
import { indexKey } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { addTries, newDeliveryId, otpDeliveryOf } from "../delivery/log.ts";
import { codeMessage } from "../delivery/messages.ts";
import {
  type Delivered,
  type DeliveryAttempt,
  type DeliveryRouter,
  NotDelivered,
  type TriedAttempt,
} from "../delivery/router.ts";
import type { SmsProtection, SmsRefusalReason, SmsVerdict } from "../delivery/sms_protection.ts";
import { AppError, rateLimited } from "../errors.ts";
import { newId } from "../ids.ts";
import { countInWindow, refundInWindow } from "../limits.ts";
import { addEventWrites, emitEvent, requestCounts } from "../live/emit.ts";
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
  phoneRange,
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
  /** SMS pumping protection. */
  smsProtection: SmsProtection;
}

const HOUR_MS = 3_600_000;

/** How the client asked for the code to travel. */
export type ChannelChoice = "auto" | "sms" | "telegram" | "email";

/** The 202 answer of a code request: a wire type, shared with the client SDK. */
export type { CodeRequested };

/** Where a code is to go: the tries in order, and what SMS protection said about SMS. */
interface Plan {
  attempts: DeliveryAttempt[];
  /** The number range SMS counts against when SMS is among the tries. */
  smsPrefix: string | null;
  /** Why SMS is not among the tries, when protection refused it. */
  smsRefused: Extract<SmsVerdict, { ok: false }> | null;
  /** Gives back the SMS's held place under the caps (`smsPrefix` set): whether it committed. */
  smsRelease: ((committed: boolean) => void) | null;
}

/**
 * Issues a code: checks the limits, stores the request (replacing the recipient's previous
 * one) and delivers it, falling back to the next channel on failure. Does the same work
 * whether or not the recipient has an account, so neither answer nor timing tell.
 *
 * One read (the recipient's record, the phone's Telegram link, the IP's counters) and one
 * share of a group commit decide and store it; the per-IP and per-range counters are
 * conflict-free sums, so requests from one IP or range never contend. `otp.sent` and the
 * delivery log ride a second, shared commit.
 *
 * With `channel: "telegram"` the answer always carries a deep link; the code goes out now only
 * when the phone is already linked to a chat (or the Telegram Gateway can reach it), else once
 * the person opens the link and shares that phone with the bot. Without a recipient, the code
 * goes to whoever opens the link. A test recipient's request sends nothing: its fixed code
 * verifies.
 */
export async function requestCode(
  ctx: CodeRequestContext,
  input: {
    recipient: ContactRecipient | null;
    channel: ChannelChoice;
    ip: string;
    /** The language messages go out in (already one Doorman has, or `en`). */
    locale?: string;
  },
): Promise<CodeRequested> {
  const { recipient, ip } = input;
  const locale = input.locale ?? "en";
  const key = recipient ? formatRecipient(recipient) : null;
  const testCode = key ? ctx.config.testRecipients.get(key) ?? null : null;
  const gateway = recipient?.kind === "phone" && ctx.delivery.has("telegram", "telegram_gateway");
  const viaDeepLink = recipient === null || (input.channel === "telegram" && ctx.telegram !== null);
  if (
    (viaDeepLink && !ctx.telegram) || (input.channel === "telegram" && !ctx.telegram && !gateway)
  ) {
    throw new AppError("CHANNEL_UNAVAILABLE", "Telegram sign-in is not configured.");
  }
  const settings = await ctx.settings.get();
  const startToken = viaDeepLink ? toBase64Url(crypto.getRandomValues(new Uint8Array(24))) : null;
  const deepLink = startToken ? await ctx.telegram!.deepLink(startToken) : undefined;
  const to: Recipient = recipient ?? { kind: "start", value: startToken! };
  const limitKey = limitKeyOf(to);
  const test = testCode !== null;

  const issued = await retry("store a code request", async () => {
    const now = ctx.clock.now();
    // Read for every phone, linked or not, so the time taken does not tell. The IP's place
    // under its cap is held from the moment it says yes until the commit ends.
    const [read, held] = await Promise.allSettled([
      readRequestGuards(ctx.kv, {
        recipient: limitKey,
        phone: recipient?.kind === "phone" ? recipient.value : null,
        // Who the code will sign in, kept with this instance's copy for the verify.
        userIndex: recipient ? indexKey(recipient) : null,
      }),
      ctx.admissions.reserve(ip, {
        limit: settings.otp_ip_rate_limit_per_hour,
        windowMs: HOUR_MS,
        bucketMs: SHARED_BUCKET_MS,
        now,
        read: () => readIpCounter(ctx.kv, "requests", { ip, now, windowMs: HOUR_MS }),
      }),
    ]);
    // A place held must be given back whatever failed beside it.
    if (read.status === "rejected") {
      if (held.status === "fulfilled" && held.value.allowed) held.value.release(false);
      throw read.reason;
    }
    if (held.status === "rejected") throw held.reason;
    const guards = read.value;
    const byIp = held.value;
    let plan: Plan | null = null;
    let versionstamp: string | null = null;
    try {
      // SMS protection holds the SMS's place under its caps from its yes until the commit ends.
      plan = test || !byIp.allowed
        ? { attempts: [], smsPrefix: null, smsRefused: null, smsRelease: null }
        : await deliveryPlan(ctx, recipient, input.channel, guards.chatId);
      const record = guards.record.value;
      // No cooldown configured leaves none behind (`cooldownRequestId` is null then).
      const cooldownMs = record?.cooldownRequestId ? record.cooldownUntil - now : 0;
      const byRecipient = countInWindow(record?.window ?? null, {
        limit: settings.otp_rate_limit_per_hour,
        windowMs: HOUR_MS,
        now,
      });
      const ipRetryMs = byIp.allowed ? 0 : byIp.retryAfterMs;
      if (!byRecipient.allowed || !byIp.allowed || cooldownMs > 0) {
        await emitEvent(ctx, "otp", "otp.rate_limited", {
          recipient: maskRecipient(to),
          limit: !byIp.allowed ? "ip" : !byRecipient.allowed ? "recipient" : "cooldown",
          ...(test ? { test } : {}),
        });
      }
      if (!byRecipient.allowed || !byIp.allowed) {
        throw rateLimited(
          "Too many codes requested.",
          Math.max(cooldownMs, byRecipient.retryAfterMs, ipRetryMs),
        );
      }
      if (cooldownMs > 0) throw rateLimited("A code was sent moments ago.", cooldownMs);
      if (!viaDeepLink && !test && plan.attempts.length === 0) {
        if (plan.smsRefused) await refuse(ctx, to, plan.smsRefused);
        throw new AppError(
          "CHANNEL_UNAVAILABLE",
          `No channel that can reach this ${recipient?.kind ?? "recipient"} is configured.`,
        );
      }
      const writes = new Writes();
      if (plan.smsPrefix) ctx.smsProtection.count(writes, plan.smsPrefix, now);
      const id = newId("otp", now);
      const code = testCode ??
        (plan.attempts.length > 0 ? generateCode(settings.otp_length) : null);
      const request: OtpRequest = {
        id,
        recipient: formatRecipient(to),
        channel: plan.attempts[0]?.channel ?? testChannel(recipient, input.channel),
        codeHash: code ? await hashCode(ctx.codeKey, id, code) : null,
        createdAt: now,
        expiresAt: now + settings.otp_ttl_seconds * 1000,
        attempts: 0,
        maxAttempts: settings.otp_max_attempts,
        locale,
      };
      if (test) request.test = true;
      // SMS is the only way: the request says where it went, no delivery record needed.
      const smsOnly = plan.smsPrefix !== null && plan.attempts.length === 1;
      if (smsOnly) request.smsPrefix = plan.smsPrefix!;
      const cooldownUntil = now + settings.otp_resend_cooldown_seconds * 1000;
      const next: RecipientRecord = {
        activeRequestId: id,
        window: byRecipient.next,
        cooldownUntil,
        cooldownRequestId: cooldownUntil > now ? id : null,
      };
      addNewRequest(writes, {
        request,
        record: guards.record,
        next,
        windowMs: HOUR_MS,
        startToken,
      });
      addIpCount(writes, "requests", ip, now);
      addStatCounts(writes, now, requestCounts(request.channel));
      const events: LiveEvent[] = [];
      if (test) {
        // Nothing goes out; the log and the dashboard still show the request, marked.
        const delivery = testDelivery(request);
        addDelivery(writes, delivery);
        addOtpDelivery(
          writes,
          id,
          {
            deliveryId: delivery.id,
            channel: request.channel,
            provider: "test",
            providerId: null,
            smsPrefix: null,
            telegram: null,
          },
          request.expiresAt,
          now,
        );
        events.push(ctx.bus.newEvent("otp", "otp.sent", now, {
          request_id: id,
          recipient: maskRecipient(to),
          channel: request.channel,
          test: true,
        }));
      } else if (!code) {
        // A deep link nobody opened yet has nothing to send: the request is the event.
        events.push(ctx.bus.newEvent("otp", "otp.requested", now, {
          request_id: id,
          recipient: recipient ? maskRecipient(recipient) : null,
          channel: "telegram",
        }));
      }
      for (const event of events) addEventWrites(writes, event, now);
      versionstamp = await ctx.commits.commit(writes);
      if (!versionstamp) return CONFLICT;
      if (!test) ctx.issued.remember(storedRequest(request, versionstamp, guards.userIndex));
      ctx.bus.publish(...events);
      return { request, code: test ? null : code, plan };
    } finally {
      if (byIp.allowed) byIp.release(versionstamp !== null);
      plan?.smsRelease?.(versionstamp !== null);
    }
  });

  const { request, code, plan } = issued;
  let channel: ChannelName = request.channel;
  if (code) {
    const delivered = await deliverCode(ctx, { request, code, plan, ip, to, locale });
    channel = delivered.channel;
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
 * Sends a stored request's code along its plan, then logs every try, `otp.sent` and how the
 * code went out in one shared commit. An SMS counted for a request that another channel
 * delivered is taken back in that commit. When nothing delivered, the request is withdrawn.
 */
async function deliverCode(
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

/** The channel a test recipient's request names (nothing goes out by it). */
function testChannel(recipient: ContactRecipient | null, choice: ChannelChoice): ChannelName {
  if (recipient?.kind === "email") return "email";
  return choice === "telegram" ? "telegram" : "sms";
}

/** The delivery log entry of a test recipient's request: nothing sent, marked. */
function testDelivery(request: OtpRequest): Delivery {
  const recipient = parseRecipient(request.recipient);
  return {
    id: newDeliveryId(request.createdAt),
    at: request.createdAt,
    requestId: request.id,
    channel: request.channel,
    provider: "test",
    to: maskRecipient(recipient),
    country: recipient.kind === "phone" ? phoneRange(recipient.value).country : null,
    status: "sent",
    providerId: null,
    latencyMs: 0,
    error: null,
    updatedAt: null,
    test: true,
  };
}

/**
 * Answers a request SMS protection refused and no other channel could take: `otp.rate_limited`
 * for a range over its hourly cap, else `otp.refused` with a `refused` delivery log entry, in
 * one commit. `requestId` names the request when it was stored (and its other tries failed).
 * Throws the refusal.
 */
async function refuse(
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

/**
 * The tries, in order. `auto` for a phone: the Telegram chat it is linked to, the Telegram
 * Gateway, then SMS; an explicit `telegram` never falls back to SMS (the deep link is the way
 * on). SMS is among the tries only when SMS protection lets it out.
 */
async function deliveryPlan(
  ctx: CodeRequestContext,
  recipient: ContactRecipient | null,
  choice: ChannelChoice,
  chatId: string | null,
): Promise<Plan> {
  const plan: Plan = { attempts: [], smsPrefix: null, smsRefused: null, smsRelease: null };
  if (!recipient) return plan;
  if (recipient.kind === "email") {
    plan.attempts = keep(ctx, [{ channel: "email", to: recipient.value }]);
    return plan;
  }
  const phone = recipient.value;
  const telegram: DeliveryAttempt[] = [
    ...(chatId ? [{ channel: "telegram" as const, provider: "bot", to: chatId }] : []),
    { channel: "telegram", provider: "telegram_gateway", to: phone },
  ];
  if (choice === "telegram") {
    plan.attempts = keep(ctx, telegram);
    return plan;
  }
  if (ctx.delivery.has("sms")) {
    const verdict = await ctx.smsProtection.check(phone);
    if (verdict.ok) {
      plan.smsPrefix = verdict.prefix;
      plan.smsRelease = verdict.release;
    } else plan.smsRefused = verdict;
  }
  const sms: DeliveryAttempt[] = plan.smsPrefix ? [{ channel: "sms", to: phone }] : [];
  plan.attempts = keep(ctx, choice === "sms" ? sms : [...telegram, ...sms]);
  return plan;
}

function keep(ctx: CodeRequestContext, attempts: DeliveryAttempt[]): DeliveryAttempt[] {
  return attempts.filter((attempt) => ctx.delivery.has(attempt.channel, attempt.provider));
}
