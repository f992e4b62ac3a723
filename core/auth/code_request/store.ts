import { addDelivery, type Delivery } from "../../../kv/deliveries.ts";
import { addIpCount, readIpCounter, SHARED_BUCKET_MS } from "../../../kv/limits.ts";
import {
  addNewRequest,
  addOtpDelivery,
  type ChannelName,
  type OtpRequest,
  readRequestGuards,
  type RecipientRecord,
  type RequestGuards,
  storedRequest,
} from "../../../kv/otp_requests.ts";
import { CONFLICT, retry } from "../../../kv/retry.ts";
import { addStatCounts } from "../../../kv/stats.ts";
import { indexKey } from "../../../kv/users.ts";
import { Writes } from "../../../kv/writes.ts";
import { newDeliveryId } from "../../delivery/log.ts";
import { AppError, rateLimited } from "../../errors.ts";
import { newId } from "../../ids.ts";
import { countInWindow, type WindowDecision } from "../../limits.ts";
import { addEventWrites, emitEvent, requestCounts } from "../../live/emit.ts";
import type { LiveEvent } from "../../live/events.ts";
import type { Settings } from "../../settings.ts";
import type { Reservation } from "../admissions.ts";
import { generateCode, hashCode } from "../codes.ts";
import {
  type ContactRecipient,
  formatRecipient,
  limitKeyOf,
  maskRecipient,
  parseRecipient,
  phoneRange,
} from "../recipients.ts";
import {
  type ChannelChoice,
  type CodeAsk,
  type CodeRequestContext,
  emptyPlan,
  HOUR_MS,
  type Plan,
} from "./context.ts";
import { refuse } from "./deliver.ts";
import { deliveryPlan } from "./plan.ts";

/** A stored request, the code to send (null: nothing to send now) and where it goes. */
export interface Stored {
  request: OtpRequest;
  code: string | null;
  plan: Plan;
}

/**
 * Decides and stores a code request in one share of a group commit, retried on a conflict:
 * one read (the recipient's record, the phone's Telegram link, its user index) beside the
 * IP's place under its cap, then the delivery plan, the limits, and the request's writes. The
 * IP's and the SMS's places under their caps are held from their yes until the commit ends.
 */
export function storeRequest(
  ctx: CodeRequestContext,
  ask: CodeAsk,
  settings: Settings,
): Promise<Stored> {
  return retry("store a code request", async () => {
    const now = ctx.clock.now();
    const { guards, byIp } = await readAndHold(ctx, ask, settings, now);
    let plan: Plan | null = null;
    let versionstamp: string | null = null;
    try {
      plan = ask.testCode !== null || !byIp.allowed
        ? emptyPlan()
        : await deliveryPlan(ctx, ask.recipient, ask.channel, guards.chatId);
      const byRecipient = await checkLimits(ctx, { ask, guards, byIp, plan, settings, now });
      const code = ask.testCode ??
        (plan.attempts.length > 0 ? generateCode(settings.otp_length) : null);
      const request = await newRequest(ctx, { ask, plan, settings, now, code });
      const writes = new Writes();
      if (plan.smsPrefix) ctx.smsProtection.count(writes, plan.smsPrefix, now);
      const events = addRequestWrites(ctx, writes, {
        ask,
        request,
        guards,
        byRecipient,
        settings,
        now,
      });
      for (const event of events) addEventWrites(writes, event, now);
      versionstamp = await ctx.commits.commit(writes);
      if (!versionstamp) return CONFLICT;
      const test = ask.testCode !== null;
      if (!test) ctx.issued.remember(storedRequest(request, versionstamp, guards.userIndex));
      ctx.bus.publish(...events);
      return { request, code: test ? null : code, plan };
    } finally {
      if (byIp.allowed) byIp.release(versionstamp !== null);
      plan?.smsRelease?.(versionstamp !== null);
    }
  });
}

/**
 * The request's one read, for every phone linked or not (so the time taken does not tell),
 * beside the IP's place under its cap: a place held is given back whatever failed beside it.
 */
async function readAndHold(
  ctx: CodeRequestContext,
  ask: CodeAsk,
  settings: Settings,
  now: number,
): Promise<{ guards: RequestGuards; byIp: Reservation }> {
  const { recipient, ip } = ask;
  const [read, held] = await Promise.allSettled([
    readRequestGuards(ctx.kv, {
      recipient: limitKeyOf(ask.to),
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
  if (read.status === "rejected") {
    if (held.status === "fulfilled" && held.value.allowed) held.value.release(false);
    throw read.reason;
  }
  if (held.status === "rejected") throw held.reason;
  return { guards: read.value, byIp: held.value };
}

/**
 * Throws the answer of a request over a limit (per recipient, per IP, the resend cooldown)
 * or with no channel to take it, after telling `otp.rate_limited`; else the recipient's
 * window with this request counted.
 */
async function checkLimits(
  ctx: CodeRequestContext,
  options: {
    ask: CodeAsk;
    guards: RequestGuards;
    byIp: Reservation;
    plan: Plan;
    settings: Settings;
    now: number;
  },
): Promise<WindowDecision> {
  const { ask, guards, byIp, plan, settings, now } = options;
  const record = guards.record.value;
  // No cooldown configured leaves none behind (`cooldownRequestId` is null then).
  const cooldownMs = record?.cooldownRequestId ? record.cooldownUntil - now : 0;
  const byRecipient = countInWindow(record?.window ?? null, {
    limit: settings.otp_rate_limit_per_hour,
    windowMs: HOUR_MS,
    now,
  });
  const test = ask.testCode !== null;
  if (!byRecipient.allowed || !byIp.allowed || cooldownMs > 0) {
    await emitEvent(ctx, "otp", "otp.rate_limited", {
      recipient: maskRecipient(ask.to),
      limit: !byIp.allowed ? "ip" : !byRecipient.allowed ? "recipient" : "cooldown",
      ...(test ? { test } : {}),
    });
  }
  if (!byRecipient.allowed || !byIp.allowed) {
    throw rateLimited(
      "Too many codes requested.",
      Math.max(cooldownMs, byRecipient.retryAfterMs, byIp.allowed ? 0 : byIp.retryAfterMs),
    );
  }
  if (cooldownMs > 0) throw rateLimited("A code was sent moments ago.", cooldownMs);
  if (!ask.viaDeepLink && !test && plan.attempts.length === 0) {
    if (plan.smsRefused) await refuse(ctx, ask.to, plan.smsRefused);
    throw new AppError(
      "CHANNEL_UNAVAILABLE",
      `No channel that can reach this ${ask.recipient?.kind ?? "recipient"} is configured.`,
    );
  }
  return byRecipient;
}

/** The request record: its code's hash, when it expires, where it goes first. */
async function newRequest(
  ctx: CodeRequestContext,
  options: { ask: CodeAsk; plan: Plan; settings: Settings; now: number; code: string | null },
): Promise<OtpRequest> {
  const { ask, plan, settings, now, code } = options;
  const id = newId("otp", now);
  const request: OtpRequest = {
    id,
    recipient: formatRecipient(ask.to),
    channel: plan.attempts[0]?.channel ?? testChannel(ask.recipient, ask.channel),
    codeHash: code ? await hashCode(ctx.codeKey, id, code) : null,
    createdAt: now,
    expiresAt: now + settings.otp_ttl_seconds * 1000,
    attempts: 0,
    maxAttempts: settings.otp_max_attempts,
    locale: ask.locale,
  };
  if (ask.testCode !== null) request.test = true;
  if (ask.contactOf !== null) request.contactOf = ask.contactOf;
  // SMS is the only way: the request says where it went, no delivery record needed.
  if (plan.smsPrefix !== null && plan.attempts.length === 1) request.smsPrefix = plan.smsPrefix;
  return request;
}

/**
 * Adds the request, the recipient's record (window, cooldown, the old request's end), the IP's
 * count and the stats to `writes`; returns the events to commit with them: a test recipient's
 * `otp.sent` (nothing goes out) or a deep link's `otp.requested` (nothing to send yet).
 */
function addRequestWrites(
  ctx: CodeRequestContext,
  writes: Writes,
  options: {
    ask: CodeAsk;
    request: OtpRequest;
    guards: RequestGuards;
    byRecipient: WindowDecision;
    settings: Settings;
    now: number;
  },
): LiveEvent[] {
  const { ask, request, guards, byRecipient, settings, now } = options;
  const cooldownUntil = now + settings.otp_resend_cooldown_seconds * 1000;
  const next: RecipientRecord = {
    activeRequestId: request.id,
    window: byRecipient.next,
    cooldownUntil,
    cooldownRequestId: cooldownUntil > now ? request.id : null,
  };
  addNewRequest(writes, {
    request,
    record: guards.record,
    next,
    windowMs: HOUR_MS,
    startToken: ask.startToken,
  });
  addIpCount(writes, "requests", ask.ip, now);
  addStatCounts(writes, now, requestCounts(request.channel));
  if (ask.testCode !== null) {
    // Nothing goes out; the log and the dashboard still show the request, marked.
    const delivery = testDelivery(request);
    addDelivery(writes, delivery);
    addOtpDelivery(
      writes,
      request.id,
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
    return [ctx.bus.newEvent("otp", "otp.sent", now, {
      request_id: request.id,
      recipient: maskRecipient(ask.to),
      channel: request.channel,
      test: true,
    })];
  }
  if (request.codeHash === null) {
    // A deep link nobody opened yet has nothing to send: the request is the event.
    return [ctx.bus.newEvent("otp", "otp.requested", now, {
      request_id: request.id,
      recipient: ask.recipient ? maskRecipient(ask.recipient) : null,
      channel: "telegram",
    })];
  }
  return [];
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
