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
import { Admissions } from "../auth/admissions.ts";
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
export type SmsRefusalReason = "country" | "blocked" | "range_limit" | "budget";

/** The answer for an SMS to a phone: go ahead, or the error to answer with. */
export type SmsVerdict =
  | { ok: true; prefix: string; country: string | null }
  | {
    ok: false;
    prefix: string;
    country: string | null;
    reason: SmsRefusalReason;
    error: AppError;
  };

/**
 * SMS pumping protection: a country allowlist, an hourly cap per number range, an automatic
 * 24 h block of a range whose codes are sent but not used, and a daily SMS budget.
 *
 * The counters are conflict-free sums in 10-minute buckets, so SMS to one range never
 * contend. A range's buckets are read at most once a second per instance, and the SMS this
 * instance let through since that read are added (as with the per-IP limit): one instance is
 * exact, several may overshoot by what the others let through within the last second.
 */
export class SmsProtection {
  readonly #ctx: Services;
  readonly #config: SmsProtectionConfig;
  readonly #reads: TtlCache<{ read: RangeRead; readAt: number }>;
  readonly #admissions: Admissions;
  /** The UTC day this instance last told that the budget is spent. */
  #noticedDay = -1;

  constructor(ctx: Services) {
    this.#ctx = ctx;
    this.#config = ctx.config.smsProtection;
    const now = () => ctx.clock.now();
    this.#reads = new TtlCache({ ttlMs: READ_TTL_MS, maxEntries: 20_000, now });
    this.#admissions = new Admissions(now);
  }

  /** Whether an SMS to `phone` may go out now; blocks its range when its codes go unused. */
  async check(phone: string): Promise<SmsVerdict> {
    const { country, prefix } = phoneRange(phone);
    const refuse = (reason: SmsRefusalReason, error: AppError): SmsVerdict => ({
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
    const now = this.#ctx.clock.now();
    const { read, readAt } = await this.#reads.through(prefix, async () => {
      const readAt = performance.now();
      return { read: await readRange(this.#ctx.kv, prefix, { now, windowMs: HOUR_MS }), readAt };
    });
    if (read.block?.status === "blocked" && read.block.until > now) {
      return refuse("blocked", blockedError());
    }
    const limit = this.#config.dailyLimit;
    if (limit !== null && read.today + this.#admissions.unseen(DAY_SUBJECT, readAt) >= limit) {
      await this.#budgetSpent(now, limit);
      return refuse(
        "budget",
        new AppError("CHANNEL_UNAVAILABLE", "No more codes can be sent by SMS today."),
      );
    }
    const unseen = this.#admissions.unseen(prefix, readAt);
    const live = (buckets: [number, number][]) =>
      buckets.filter(([start]) => start + SHARED_BUCKET_MS + HOUR_MS > now)
        .reduce((sum, [, count]) => sum + count, 0);
    // Judged on SMS that went out (committed), not on requests still deciding.
    const sent = live(read.sent) + this.#admissions.landedSince(prefix, readAt);
    const verified = live(read.verified) +
      this.#admissions.landedSince(`${prefix}:verified`, readAt);
    if (
      this.#config.prefixAutoblock && read.block?.status !== "lifted" &&
      sent >= AUTOBLOCK_MIN_SENT && verified < AUTOBLOCK_MIN_VERIFIED_SHARE * sent
    ) {
      await this.#block({ prefix, country, sent, verified, now });
      return refuse("blocked", blockedError());
    }
    const cap = countInWindow({ buckets: read.sent }, {
      limit: this.#config.prefixLimitPerHour,
      windowMs: HOUR_MS,
      now,
      bucketMs: SHARED_BUCKET_MS,
      unseen,
    });
    if (!cap.allowed) {
      return refuse(
        "range_limit",
        rateLimited("Too many codes sent to this number range.", cap.retryAfterMs),
      );
    }
    return { ok: true, prefix, country };
  }

  /**
   * Counts an SMS to `prefix` in `writes` (`by: -1` takes one back) and, until the commit
   * ends, among this instance's unseen ones: call the returned function with whether it
   * committed.
   */
  count(writes: Writes, prefix: string, at: number, by: 1 | -1 = 1): (committed: boolean) => void {
    addSmsSent(writes, prefix, at, by);
    if (by === -1) {
      return (committed) => {
        if (committed) {
          this.#admissions.takeBack(prefix);
          this.#admissions.takeBack(DAY_SUBJECT);
        }
      };
    }
    const range = this.#admissions.admit(prefix);
    const day = this.#admissions.admit(DAY_SUBJECT);
    return (committed) => {
      range(committed);
      day(committed);
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
