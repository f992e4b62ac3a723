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

/** One way to try: a channel and the address it knows the recipient by. */
export interface DeliveryAttempt {
  channel: ChannelName;
  to: string;
}

/**
 * Picks among the configured channels, falls back to the next on failure, and keeps each
 * channel's health (last success, last error) for operators.
 */
export class DeliveryRouter {
  readonly #channels: Map<ChannelName, Channel>;
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
    this.#channels = new Map(channels.map((channel) => [channel.name, channel]));
    this.#clock = options.clock;
    this.#log = options.log;
    this.#onChange = options.onChange;
  }

  /** Whether a channel is configured. */
  has(name: ChannelName): boolean {
    return this.#channels.has(name);
  }

  /**
   * Sends through the first attempt that works and returns its channel. Throws 503
   * `CHANNEL_UNAVAILABLE` when none is configured or every one failed.
   */
  async deliver(
    attempts: DeliveryAttempt[],
    message: CodeMessage | ((channel: ChannelName) => CodeMessage),
  ): Promise<{ channel: ChannelName; receipt: DeliveryReceipt }> {
    let mayHaveSent = false;
    for (const attempt of attempts) {
      const channel = this.#channels.get(attempt.channel);
      if (!channel) continue;
      try {
        const text = typeof message === "function" ? message(attempt.channel) : message;
        const receipt = await channel.send(attempt.to, text);
        this.#record(attempt.channel, null);
        return { channel: attempt.channel, receipt: receipt ?? {} };
      } catch (error) {
        const reason = error instanceof DeliveryError ? error.message : "unexpected failure";
        // A failure nobody could explain may have happened after the message went out.
        if (!(error instanceof DeliveryError) || error.mayHaveSent) mayHaveSent = true;
        this.#record(attempt.channel, reason);
        this.#log.warn("delivery failed", { channel: attempt.channel, reason });
        if (!(error instanceof DeliveryError)) {
          this.#log.error("delivery bug", { channel: attempt.channel, error: String(error) });
        }
      }
    }
    throw new NotDelivered(mayHaveSent);
  }

  /** Health of every channel, configured or not. */
  health(): Record<ChannelName, ChannelHealth> {
    const out = {} as Record<ChannelName, ChannelHealth>;
    for (const name of ["telegram", "sms", "email"] as const) out[name] = this.#healthOf(name);
    return out;
  }

  #healthOf(name: ChannelName): ChannelHealth {
    const channel = this.#channels.get(name);
    return this.#health.get(name) ?? {
      configured: channel !== undefined,
      provider: channel?.provider ?? "none",
      ok: channel !== undefined,
      last_error: null,
      last_error_at: null,
      last_success_at: null,
    };
  }

  #record(name: ChannelName, error: string | null): void {
    const now = new Date(this.#clock.now()).toISOString();
    const before = this.#healthOf(name);
    const health = { ...before };
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
  constructor(readonly mayHaveSent: boolean) {
    super(
      "CHANNEL_UNAVAILABLE",
      "No channel can deliver a code to this recipient right now. Try again later.",
    );
  }
}
