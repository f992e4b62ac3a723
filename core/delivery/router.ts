import type { Clock } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import {
  type Channel,
  type ChannelHealth,
  type ChannelName,
  type CodeMessage,
  DeliveryError,
  type DeliveryReceipt,
} from "./channel.ts";

/** One way to try: a channel (a provider of it, when it has several) and the address. */
export interface DeliveryAttempt {
  channel: ChannelName;
  /** Which provider of the channel (Telegram: `bot` or `gateway`); any when unset. */
  provider?: string;
  to: string;
}

/** What one try did, for the delivery log. */
export interface TriedAttempt {
  channel: ChannelName;
  provider: string;
  to: string;
  /** When it started (the clock's ms). */
  at: number;
  latencyMs: number;
  status: "sent" | "failed" | "refused";
  /** Why it failed, safe to show (no code, no secret). */
  error: string | null;
  providerId: string | null;
  /** Whether a failed try may have sent the message after all. */
  mayHaveSent: boolean;
}

/** A delivered message: by which channel and provider, what it said, and every try. */
export interface Delivered {
  channel: ChannelName;
  provider: string;
  receipt: DeliveryReceipt;
  tried: TriedAttempt[];
}

/**
 * Picks among the configured channels, falls back to the next on failure, and keeps each
 * channel's health (last success, last error) for operators.
 */
export class DeliveryRouter {
  readonly #channels: Channel[];
  readonly #health = new Map<ChannelName, ChannelHealth>();
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #onChange?: (name: ChannelName, health: ChannelHealth) => void;

  /** `onChange` hears when a channel starts failing or recovers. */
  constructor(
    channels: Channel[],
    options: {
      clock: Clock;
      log: Logger;
      onChange?: (name: ChannelName, health: ChannelHealth) => void;
    },
  ) {
    this.#channels = channels;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#onChange = options.onChange;
  }

  /** Whether a channel (or one provider of it) is configured. */
  has(name: ChannelName, provider?: string): boolean {
    return this.#find(name, provider) !== undefined;
  }

  #find(name: ChannelName, provider?: string): Channel | undefined {
    return this.#channels.find((channel) =>
      channel.name === name && (provider === undefined || channel.provider === provider)
    );
  }

  /**
   * Sends through the first attempt that works. Throws `NotDelivered` (503
   * `CHANNEL_UNAVAILABLE`) when none is configured or every one failed; either way, every try
   * is told.
   */
  async deliver(
    attempts: DeliveryAttempt[],
    message: CodeMessage | ((channel: ChannelName) => CodeMessage),
  ): Promise<Delivered> {
    const tried: TriedAttempt[] = [];
    for (const attempt of attempts) {
      const channel = this.#find(attempt.channel, attempt.provider);
      if (!channel) continue;
      const at = this.#clock.now();
      const started = performance.now();
      const tryOf = (
        outcome: Pick<TriedAttempt, "status" | "error" | "providerId" | "mayHaveSent">,
      ) =>
        tried.push({
          channel: attempt.channel,
          provider: channel.provider,
          to: attempt.to,
          at,
          latencyMs: Math.round(performance.now() - started),
          ...outcome,
        });
      try {
        const text = typeof message === "function" ? message(attempt.channel) : message;
        const receipt = (await channel.send(attempt.to, text)) ?? {};
        this.#record(attempt.channel, channel.provider, null);
        const providerId = receipt.providerId ?? null;
        tryOf({ status: "sent", error: null, providerId, mayHaveSent: true });
        return { channel: attempt.channel, provider: channel.provider, receipt, tried };
      } catch (error) {
        const known = error instanceof DeliveryError;
        const reason = known ? error.message : "unexpected failure";
        tryOf({
          status: known && error.options.refused ? "refused" : "failed",
          error: reason,
          providerId: null,
          // A failure nobody could explain may have happened after the message went out.
          mayHaveSent: !known || error.mayHaveSent,
        });
        // A provider refusing one recipient (not on Telegram) says nothing of its health.
        if (!(known && error.options.refused)) {
          this.#record(attempt.channel, channel.provider, reason);
        }
        this.#log.warn("delivery failed", {
          channel: attempt.channel,
          provider: channel.provider,
          reason,
        });
        if (!known) {
          this.#log.error("delivery bug", { channel: attempt.channel, error: String(error) });
        }
      }
    }
    throw new NotDelivered(tried);
  }

  /** Health of every channel, configured or not. */
  health(): Record<ChannelName, ChannelHealth> {
    const out = {} as Record<ChannelName, ChannelHealth>;
    for (const name of ["telegram", "sms", "email"] as const) out[name] = this.#healthOf(name);
    return out;
  }

  #healthOf(name: ChannelName): ChannelHealth {
    const providers = this.#channels.filter((channel) => channel.name === name)
      .map((channel) => channel.provider);
    return this.#health.get(name) ?? {
      configured: providers.length > 0,
      provider: providers.join(", ") || "none",
      ok: providers.length > 0,
      last_error: null,
      last_error_at: null,
      last_success_at: null,
    };
  }

  #record(name: ChannelName, provider: string, error: string | null): void {
    const now = new Date(this.#clock.now()).toISOString();
    const before = this.#healthOf(name);
    const health = { ...before };
    health.last_provider = provider;
    if (error === null) {
      health.ok = true;
      health.last_success_at = now;
    } else {
      health.ok = false;
      health.last_error = error;
      health.last_error_at = now;
    }
    this.#health.set(name, health);
    if (health.ok !== before.ok) this.#onChange?.(name, health);
  }
}

/**
 * 503 `CHANNEL_UNAVAILABLE`: no channel delivered. `mayHaveSent` says whether some provider
 * may have sent the message after all (it answered an error, or timed out): then what the
 * request counted against the limits stays counted.
 */
export class NotDelivered extends AppError {
  readonly mayHaveSent: boolean;

  constructor(readonly tried: TriedAttempt[]) {
    super(
      "CHANNEL_UNAVAILABLE",
      "No channel can deliver a code to this recipient right now. Try again later.",
    );
    this.mayHaveSent = tried.some((attempt) => attempt.mayHaveSent);
  }
}
