import {
  addBudgetNotice,
  addRangeBlock,
  addSmsSent,
  dayOf,
  getBudgetNotice,
  getRangeBlock,
  type RangeBlock,
  type RangeRead,
  readRange,
} from "../../kv/sms_protection.ts";
import { SHARED_BUCKET_MS } from "../../kv/limits.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import { Writes } from "../../kv/writes.ts";
import { Admissions, EXACT_HEADROOM, handingOn } from "../auth/admissions.ts";
import { phoneRange } from "../auth/recipients.ts";
import { TtlCache } from "../cache.ts";
import type { SmsProtection as SmsProtectionConfig } from "../config.ts";
import { AppError, rateLimited } from "../errors.ts";
import { countInWindow } from "../limits.ts";
import { addEventWrites } from "../live/emit.ts";
import type { Services } from "../services.ts";

const HOUR_MS = 3_600_000;
/** How long a range stays blocked. */
export const BLOCK_MS = 24 * HOUR_MS;
/** How long a lifted block keeps the range from being blocked again automatically. */
export const LIFT_MS = HOUR_MS;
/** A range is judged once its last hour has this many SMS… */
export const AUTOBLOCK_MIN_SENT = 10;
/** …and blocked when fewer than this share of their codes were used. */
export const AUTOBLOCK_MIN_VERIFIED_SHARE = 0.2;
/** How long one read of a range is used (this instance's SMS since are added to it). */
const READ_TTL_MS = 1_000;
const DAY_SUBJECT = "day";

/** Why an SMS was refused. */
export type SmsRefusalReason = "country" | "premium" | "blocked" | "range_limit" | "budget";

/**
 * The answer for an SMS to a phone: go ahead — holding one unit of the range's cap and of the
 * daily budget until `release` says whether the request's commit landed — or the error to
 * answer with.
 */
export type SmsVerdict =
  | {
    ok: true;
    prefix: string;
    country: string | null;
    release: (committed: boolean) => void;
  }
  | {
    ok: false;
    prefix: string;
    country: string | null;
    reason: SmsRefusalReason;
    error: AppError;
  };

type Refusal = Extract<SmsVerdict, { ok: false }>;

/** What one look at a range decided, before anything is held. */
type Decision =
  | { kind: "refuse"; reason: "blocked" | "range_limit" | "budget"; retryAfterMs: number }
  | { kind: "block"; sent: number; verified: number }
  | { kind: "admit"; exact: boolean };

/**
 * SMS pumping protection: a country allowlist, no premium-rate or shared-cost numbers, an
 * hourly cap per number range, an automatic 24 h block of a range whose codes are sent but not
 * used, and a daily SMS budget.
 *
 * The counters are conflict-free sums in 10-minute buckets, so SMS to one range never
 * contend. An SMS is counted among this instance's in-flight ones at the moment it is let
 * through (no await in between), so parallel requests on one instance let out exactly what
 * sequential ones would. Far from every cap, a range's buckets are read at most once a second
 * per instance and this instance's own SMS since are added. Within `EXACT_HEADROOM` of a cap
 * (and wherever the automatic block could be reached), an instance lets one SMS per range — and
 * for the budget one SMS at all — through at a time, each on a fresh read that began after the
 * previous one's commit ended: instances sharing one KV pass a cap by at most one SMS each.
 *
 * A little over the house's ~300 lines on purpose: the caps, the block and the budget decide on
 * one read with one set of this instance's admissions, and split they would pass them around.
 */
export class SmsProtection {
  readonly #ctx: Services;
  readonly #config: SmsProtectionConfig;
  readonly #reads: TtlCache<{ read: RangeRead; readAt: number }>;
  readonly #admissions: Admissions;
  /** Ranges this instance decided to block, until the block is stored and read back. */
  readonly #blocking = new Map<string, number>();
  /** The UTC day this instance last told that the budget is spent. */
  #noticedDay = -1;

  constructor(ctx: Services) {
    this.#ctx = ctx;
    this.#config = ctx.config.smsProtection;
    const now = () => ctx.clock.now();
    this.#reads = new TtlCache({ ttlMs: READ_TTL_MS, maxEntries: 20_000, now });
    this.#admissions = new Admissions(now);
  }

  /**
   * Whether an SMS to `phone` may go out now; blocks its range when its codes go unused. A yes
   * holds its place under every cap until `release` is called: call it exactly once.
   */
  async check(phone: string): Promise<SmsVerdict> {
    const { country, prefix, premium } = phoneRange(phone);
    const refuse = (reason: SmsRefusalReason, error: AppError): Refusal => ({
      ok: false,
      prefix,
      country,
      reason,
      error,
    });
    const allowed = this.#config.allowedCountries;
    if (allowed.length > 0 && (!country || !allowed.includes(country))) {
      return refuse(
        "country",
        new AppError("RECIPIENT_NOT_ALLOWED", "Codes cannot be sent by SMS to this country."),
      );
    }
    if (premium) {
      return refuse(
        "premium",
        new AppError(
          "RECIPIENT_NOT_ALLOWED",
          "Codes cannot be sent by SMS to premium-rate or shared-cost numbers.",
        ),
      );
    }
    const now = this.#ctx.clock.now();
    const cached = await this.#reads.through(prefix, async () => {
      const readAt = performance.now();
      return { read: await readRange(this.#ctx.kv, prefix, { now, windowMs: HOUR_MS }), readAt };
    });
    const first = this.#decide(prefix, cached, now);
    if (first.kind !== "admit") return await this.#refuse(first, { prefix, country, now }, refuse);
    if (!first.exact) return { ok: true, prefix, country, release: this.#admit(prefix) };

    // Near a cap: one at a time per range (and for the budget, one at a time), on a fresh read.
    const leaveRange = await this.#admissions.enter(prefix);
    let leaveDay: (() => void) | null = null;
    const leave = () => {
      leaveDay?.();
      leaveRange();
    };
    try {
      if (this.#config.dailyLimit !== null) leaveDay = await this.#admissions.enter(DAY_SUBJECT);
      const readAt = performance.now();
      const read = await readRange(this.#ctx.kv, prefix, { now, windowMs: HOUR_MS });
      this.#reads.set(prefix, { read, readAt });
      const fresh = this.#decide(prefix, { read, readAt }, now);
      if (fresh.kind !== "admit") {
        leave();
        return await this.#refuse(fresh, { prefix, country, now }, refuse);
      }
      return { ok: true, prefix, country, release: handingOn(this.#admit(prefix), leave) };
    } catch (error) {
      leave();
      throw error;
    }
  }

  /**
   * Decides on one read of a range plus this instance's SMS since it began (in flight ones
   * count as sent and not verified), with no await: an admission must follow it at once.
   */
  #decide(
    prefix: string,
    { read, readAt }: { read: RangeRead; readAt: number },
    now: number,
  ): Decision {
    const blocking = this.#blocking.get(prefix);
    if (blocking !== undefined && blocking > now) {
      return { kind: "refuse", reason: "blocked", retryAfterMs: blocking - now };
    }
    if (read.block?.status === "blocked" && read.block.until > now) {
      return { kind: "refuse", reason: "blocked", retryAfterMs: read.block.until - now };
    }
    let exact = false;
    const limit = this.#config.dailyLimit;
    if (limit !== null) {
      const today = read.today + this.#admissions.unseen(DAY_SUBJECT, readAt);
      if (today >= limit) return { kind: "refuse", reason: "budget", retryAfterMs: 0 };
      exact ||= limit - today <= EXACT_HEADROOM;
    }
    const live = (buckets: [number, number][]) =>
      buckets.filter(([start]) => start + SHARED_BUCKET_MS + HOUR_MS > now)
        .reduce((sum, [, count]) => sum + count, 0);
    const unseen = this.#admissions.unseen(prefix, readAt);
    const sent = live(read.sent) + unseen;
    const verified = live(read.verified) +
      this.#admissions.landedSince(`${prefix}:verified`, readAt);
    if (this.#config.prefixAutoblock && read.block?.status !== "lifted") {
      if (sent >= AUTOBLOCK_MIN_SENT && verified < AUTOBLOCK_MIN_VERIFIED_SHARE * sent) {
        return { kind: "block", sent, verified };
      }
      // Could the next SMS we let through on this read bring the block on?
      exact ||= verified < AUTOBLOCK_MIN_VERIFIED_SHARE * (sent + EXACT_HEADROOM);
    }
    const cap = countInWindow({ buckets: read.sent }, {
      limit: this.#config.prefixLimitPerHour,
      windowMs: HOUR_MS,
      now,
      bucketMs: SHARED_BUCKET_MS,
      unseen,
    });
    if (!cap.allowed) {
      return { kind: "refuse", reason: "range_limit", retryAfterMs: cap.retryAfterMs };
    }
    exact ||= this.#config.prefixLimitPerHour - cap.count <= EXACT_HEADROOM;
    return { kind: "admit", exact };
  }

  /** Counts one SMS to `prefix` and one of today's among this instance's in-flight ones. */
  #admit(prefix: string): (committed: boolean) => void {
    const range = this.#admissions.admit(prefix);
    const day = this.#admissions.admit(DAY_SUBJECT);
    return (committed) => {
      range(committed);
      day(committed);
    };
  }

  /** Turns a refusing decision into its verdict: blocks the range or tells the budget first. */
  async #refuse(
    decision: Exclude<Decision, { kind: "admit" }>,
    where: { prefix: string; country: string | null; now: number },
    refuse: (reason: SmsRefusalReason, error: AppError) => Refusal,
  ): Promise<Refusal> {
    const { prefix, country, now } = where;
    if (decision.kind === "block") {
      // Refused here from now on, without waiting for the block's commit.
      this.#blocking.set(prefix, now + BLOCK_MS);
      try {
        await this.#block({
          prefix,
          country,
          sent: decision.sent,
          verified: decision.verified,
          now,
        });
      } finally {
        this.#blocking.delete(prefix);
      }
      return refuse("blocked", blockedError());
    }
    if (decision.reason === "blocked") return refuse("blocked", blockedError());
    if (decision.reason === "budget") {
      await this.#budgetSpent(now, this.#config.dailyLimit!);
      return refuse(
        "budget",
        new AppError("CHANNEL_UNAVAILABLE", "No more codes can be sent by SMS today."),
      );
    }
    return refuse(
      "range_limit",
      rateLimited("Too many codes sent to this number range.", decision.retryAfterMs),
    );
  }

  /**
   * Counts an SMS to `prefix` in `writes`; with `by: -1` takes one back, and once that commit
   * lands (call the returned function with whether it did) this instance's counts follow.
   */
  count(writes: Writes, prefix: string, at: number, by: 1 | -1 = 1): (committed: boolean) => void {
    addSmsSent(writes, prefix, at, by);
    if (by === 1) return () => {};
    return (committed) => {
      if (committed) {
        this.#admissions.takeBack(prefix);
        this.#admissions.takeBack(DAY_SUBJECT);
      }
    };
  }

  /** Notes a used code of an SMS to `prefix` (its commit landed), until reads show it. */
  verified(prefix: string): void {
    this.#admissions.admit(`${prefix}:verified`)(true);
  }

  /** Forgets the cached read of a range (its block changed). */
  forget(prefix: string): void {
    this.#reads.delete(prefix);
  }

  /** Blocks a range for 24 h, once: the instance whose commit lands tells it. */
  async #block(
    options: {
      prefix: string;
      country: string | null;
      sent: number;
      verified: number;
      now: number;
    },
  ): Promise<void> {
    const { prefix, sent, verified, now } = options;
    const block: RangeBlock = {
      prefix,
      status: "blocked",
      until: now + BLOCK_MS,
      reason: `${sent} SMS in the last hour, ${verified} of their codes used`,
      sent,
      verified,
      at: now,
    };
    const event = this.#ctx.bus.newEvent("fraud", "fraud.prefix_blocked", now, {
      prefix,
      country: options.country,
      sent,
      verified,
      until: new Date(block.until).toISOString(),
    });
    const blocked = await retry(`block number range ${prefix}`, async () => {
      const current = await getRangeBlock(this.#ctx.kv, prefix);
      // Blocked meanwhile, or lifted by an admin: leave it.
      if (current.value && current.value.until > this.#ctx.clock.now()) return false;
      const writes = addRangeBlock(new Writes(), current, block);
      addEventWrites(writes, event, now);
      return await this.#ctx.commits.commit(writes) ? true : CONFLICT;
    });
    this.forget(prefix);
    if (!blocked) return;
    this.#ctx.bus.publish(event);
    this.#ctx.log.warn("number range blocked for SMS", { prefix, sent, verified });
  }

  /** Tells once a day (across instances) that the SMS budget is spent. */
  async #budgetSpent(now: number, limit: number): Promise<void> {
    const day = dayOf(now);
    if (this.#noticedDay === day) return;
    this.#noticedDay = day;
    const event = this.#ctx.bus.newEvent("channel", "channel.budget_exhausted", now, {
      channel: "sms",
      limit,
      day: new Date(day).toISOString().slice(0, 10),
    });
    try {
      const first = await retry("note the SMS budget spent", async () => {
        const notice = await getBudgetNotice(this.#ctx.kv, now);
        if (notice.value !== null) return false;
        const writes = addBudgetNotice(new Writes(), notice, now);
        addEventWrites(writes, event, now);
        return await this.#ctx.commits.commit(writes) ? true : CONFLICT;
      });
      if (!first) return;
    } catch (error) {
      this.#noticedDay = -1;
      this.#ctx.log.warn("event not logged", { type: event.data.type, error: String(error) });
      return;
    }
    this.#ctx.bus.publish(event);
    this.#ctx.log.warn("SMS budget for today spent", { limit });
  }
}

function blockedError(): AppError {
  return new AppError(
    "RECIPIENT_NOT_ALLOWED",
    "Codes cannot be sent by SMS to this number range right now.",
  );
}
