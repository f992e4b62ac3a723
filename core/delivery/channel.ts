import type { ChannelName } from "../../kv/otp_requests.ts";

export type { ChannelName };

/** A message carrying a one-time code, rendered for every medium. */
export interface CodeMessage {
  /** Plain text (SMS, email text part, console). */
  text: string;
  /** Email subject. */
  subject: string;
  /** Email HTML part. */
  html: string;
  /** Telegram message in its HTML parse mode: the code as a tap-to-copy `code` entity. */
  telegramHtml: string;
}

/** What a provider tells about a sent message (Telegram: where to delete it later). */
export interface DeliveryReceipt {
  chatId?: string;
  messageId?: number;
  /** When the message deletes itself. */
  deleteAt?: number;
}

/** A way to reach a person: SMS, email, Telegram. */
export interface Channel {
  readonly name: ChannelName;
  /** Which provider backs it (`webhook`, `twilio`, `console`, …), for health and logs. */
  readonly provider: string;
  /** Delivers one message; throws `DeliveryError` when the provider refused or timed out. */
  send(to: string, message: CodeMessage): Promise<DeliveryReceipt | void>;
}

/** A provider could not deliver. The message is safe to log: no code, no secret. */
export class DeliveryError extends Error {
  constructor(message: string, readonly options: { retryable?: boolean } = {}) {
    super(message);
    this.name = "DeliveryError";
  }
}

/** How a channel has been doing, for the health endpoint and the dashboard. */
export interface ChannelHealth {
  configured: boolean;
  provider: string;
  ok: boolean;
  last_error: string | null;
  last_error_at: string | null;
  last_success_at: string | null;
}
