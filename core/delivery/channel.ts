import type { ChannelName } from "../../kv/otp_requests.ts";

export type { ChannelName };

/** A message carrying a one-time code, rendered for every medium. */
export interface CodeMessage {
  /** Plain text (SMS, console). */
  text: string;
  /** The email's plain-text part: what the HTML part says, as text. */
  emailText: string;
  /** Email subject. */
  subject: string;
  /** Email HTML part. */
  html: string;
  /** Telegram message in its HTML parse mode: the code as a tap-to-copy `code` entity. */
  telegramHtml: string;
  /** The code itself, for providers that render it (Telegram Gateway); never logged. */
  code?: string;
  /** How long the code is valid, in seconds. */
  ttlSeconds?: number;
  /** The otp request the code belongs to, so provider reports can be matched to it. */
  requestId?: string;
}

/** What a provider tells about a sent message (Telegram: where to delete it later). */
export interface DeliveryReceipt {
  chatId?: string;
  messageId?: number;
  /** When the message deletes itself. */
  deleteAt?: number;
  /** The provider's id for the message (Twilio message SID, Gateway request id). */
  providerId?: string;
}

/** A way to reach a person: SMS, email, Telegram. */
export interface Channel {
  readonly name: ChannelName;
  /** Which provider backs it (`webhook`, `twilio`, `console`, …), for health and logs. */
  readonly provider: string;
  /** Delivers one message; throws `DeliveryError` when the provider refused or timed out. */
  send(to: string, message: CodeMessage): Promise<DeliveryReceipt | void>;
}

/**
 * A provider could not deliver. The message is safe to log: no code, no secret.
 * `mayHaveSent` is false only when the message cannot have gone out (the provider was never
 * reached, or refused it before taking it); a provider that answered an error or timed out
 * may have sent it, and that is the default.
 */
export class DeliveryError extends Error {
  readonly mayHaveSent: boolean;

  /**
   * `refused`: the provider turned this recipient down before sending (a number not on
   * Telegram, a number the SMS provider cannot reach) — not a sign the provider is unwell.
   */
  constructor(
    message: string,
    readonly options: { retryable?: boolean; mayHaveSent?: boolean; refused?: boolean } = {},
  ) {
    super(message);
    this.name = "DeliveryError";
    this.mayHaveSent = options.mayHaveSent ?? true;
  }
}

/**
 * Runs a provider call with a deadline covering the answer and its body, and turns failures
 * into `DeliveryError`s that say whether the provider was reached. (A plain timer, cleared
 * when the call ends: `AbortSignal.timeout` left one timer per message running for the full
 * timeout.)
 */
export async function callProvider<T>(
  name: string,
  timeoutMs: number,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await call(controller.signal);
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    if (controller.signal.aborted) {
      throw new DeliveryError(`${name} timed out`, { retryable: true });
    }
    const unreached = notReached(error);
    throw new DeliveryError(`${name} ${unreached ? "could not be reached" : "connection failed"}`, {
      retryable: true,
      mayHaveSent: !unreached,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a network error happened before anything was sent (no connection was made). */
export function notReached(error: unknown): boolean {
  const text = error instanceof Error
    ? `${error.message} ${error.cause instanceof Error ? error.cause.message : ""}`
    : String(error);
  return /connection refused|connect error|dns error|failed to lookup|no route to host|network is unreachable|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/i
    .test(text);
}

/** How a channel has been doing, for the health endpoint and the dashboard. */
export interface ChannelHealth {
  configured: boolean;
  provider: string;
  ok: boolean;
  last_error: string | null;
  last_error_at: string | null;
  last_success_at: string | null;
  /** The provider of the last try (a channel may have several: Telegram's bot and Gateway). */
  last_provider?: string;
}

/**
 * An HTTP client that never reuses a connection, for sending messages. When a kept-alive
 * connection closes before any answer, `fetch` quietly sends the request again on a new one —
 * fine for a GET, but a provider that took the first message then sends (and bills) it twice.
 * A fresh connection per message has nothing to retry. (The Telegram bot's sends use it; the
 * webhook, Twilio and Telegram Gateway channels keep their connections with `ProviderClient`,
 * which never retries.)
 */
export function sendingClient(): Deno.HttpClient {
  return Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
}
