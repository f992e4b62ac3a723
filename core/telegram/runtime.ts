import { Api, Bot, GrammyError, HttpError } from "grammy/web";
import type { Update } from "grammy/types";
import type { TelegramMessageRef } from "../../kv/otp_requests.ts";
import type { Clock } from "../clock.ts";
import {
  type Channel,
  type CodeMessage,
  DeliveryError,
  notReached,
  sendingClient,
} from "../delivery/channel.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { SettingsCache } from "../settings.ts";
import { CodeMessageDeleter } from "./deletes.ts";

/** Longest `retry_after` worth waiting for inside one request; longer means "failed". */
const MAX_RETRY_AFTER_S = 5;
const MAX_RETRIES = 2;
/** Sending a code must not hang a sign-in. */
const SEND_TIMEOUT_S = 10;

/** The Telegram side of one instance: the bot, the code channel and self-deleting messages. */
export interface TelegramRuntime {
  /** The delivery channel codes go through (`to` is a chat id). */
  channel: Channel;
  deleter: CodeMessageDeleter;
  bot: Bot;
  /** `https://t.me/<bot>?start=<token>`; 503 when the bot cannot be reached. */
  deepLink(token: string): Promise<string>;
  /** Deletes a code message at once (its code was used). */
  deleteCodeMessage(ref: TelegramMessageRef | null | undefined): Promise<void>;
  /** Processes an update in the background with the handlers bot.ts installed. */
  process(update: Update): void;
  /** Resolves when every update being processed is done (tests, shutdown). */
  idle(): Promise<void>;
  /** Long polling, for development without a public https URL. */
  startPolling(): void;
  /** Registers `url` as the webhook, with the secret Telegram must send back. */
  registerWebhook(url: string, secret: string): Promise<void>;
  stop(): Promise<void>;
}

/** What the Telegram runtime needs: storage, time, a log and the settings in force. */
export interface TelegramDeps {
  kv: Deno.Kv;
  clock: Clock;
  log: Logger;
  settings: SettingsCache;
}

/**
 * Builds the Telegram runtime from `TELEGRAM_BOT_TOKEN` and `TELEGRAM_API_ROOT`. The bot's
 * conversation is installed on `bot` by bot.ts once the delivery router exists.
 */
export function createTelegram(
  ctx: TelegramDeps,
  options: { token: string; apiRoot: string },
): TelegramRuntime {
  const { token, apiRoot } = options;
  const bot = new Bot(token, { client: { apiRoot, timeoutSeconds: 45 } });
  // Sends never reuse a connection: a dropped answer must not make fetch send the code twice.
  const sendClient = sendingClient();
  const api = new Api(token, {
    apiRoot,
    timeoutSeconds: SEND_TIMEOUT_S,
    fetch: async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, { ...init, client: sendClient });
      // The Bot API answers JSON, errors included; anything else is a proxy in between.
      if (!response.ok && !response.headers.get("content-type")?.includes("json")) {
        await response.body?.cancel();
        throw new NotTheBotApi(response.status);
      }
      return response;
    },
  });
  for (const client of [bot.api, api]) client.config.use(retryAfterFloodWait);
  const deleter = new CodeMessageDeleter({ kv: ctx.kv, api, clock: ctx.clock, log: ctx.log });
  const working = new Set<Promise<void>>();
  let initializing: Promise<void> | null = null;
  let polling = false;

  const init = () => {
    initializing ??= bot.init().catch((error) => {
      initializing = null;
      throw error;
    });
    return initializing;
  };
  bot.catch((error) => {
    ctx.log.error("telegram update failed", { error: String(error.error) });
  });

  const channel: Channel = {
    name: "telegram",
    provider: "bot",
    async send(chatId: string, message: CodeMessage) {
      const settings = await ctx.settings.get();
      let messageId: number;
      // One deadline for the whole send, flood-control waits included.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), SEND_TIMEOUT_S * 1000);
      try {
        const sent = await api.sendMessage(chatId, message.telegramHtml, {
          parse_mode: "HTML",
          // Codes are not for forwarding or saving.
          protect_content: true,
        }, deadline.signal);
        messageId = sent.message_id;
      } catch (error) {
        throw toDeliveryError(error, deadline.signal.aborted);
      } finally {
        clearTimeout(timer);
      }
      const afterMs = settings.telegram_autodelete_seconds * 1000;
      await deleter.schedule(chatId, messageId, afterMs);
      return { chatId, messageId, deleteAt: ctx.clock.now() + afterMs };
    },
  };

  return {
    channel,
    deleter,
    bot,
    async deepLink(startToken) {
      try {
        await init();
      } catch (error) {
        ctx.log.warn("telegram getMe failed", { error: String(error) });
        throw new AppError("CHANNEL_UNAVAILABLE", "Telegram cannot be reached right now.");
      }
      return `https://t.me/${bot.botInfo.username}?start=${startToken}`;
    },
    async deleteCodeMessage(ref) {
      if (!ref) return;
      try {
        await deleter.deleteNow(ref.chatId, ref.messageId, ref.deleteAt);
      } catch (error) {
        ctx.log.warn("telegram delete on use failed", { error: String(error) });
      }
    },
    process(update) {
      const job = (async () => {
        await init();
        await bot.handleUpdate(withoutStrayEntities(update));
      })().catch((error) => ctx.log.error("telegram update failed", { error: String(error) }))
        .finally(() => working.delete(job));
      working.add(job);
    },
    async idle() {
      while (working.size > 0) await Promise.all([...working]);
    },
    startPolling() {
      if (polling) return;
      polling = true;
      bot.start({
        drop_pending_updates: false,
        allowed_updates: ["message"],
        onStart: (info) => ctx.log.info("telegram bot polling", { bot: info.username }),
      }).catch((error) => ctx.log.error("telegram polling stopped", { error: String(error) }));
    },
    async registerWebhook(url, secret) {
      await bot.api.setWebhook(url, { secret_token: secret, allowed_updates: ["message"] });
      ctx.log.info("telegram webhook registered", { url });
    },
    async stop() {
      deleter.stop();
      if (polling) await bot.stop();
      polling = false;
      await Promise.all([...working]);
    },
  };
}

/**
 * The update without entities that point into no text: Telegram sends entities only with a
 * text or caption, and grammY's command matching reads that text (a message with entities
 * and neither would crash it). Anything else is left for the handlers to judge.
 */
export function withoutStrayEntities(update: Update): Update {
  let out = update;
  for (const kind of ["message", "channel_post"] as const) {
    const message: unknown = update[kind];
    // Only Telegram's shape is ours to mend: anything else is left for grammY to refuse.
    if (typeof message !== "object" || message === null || !("entities" in message)) continue;
    const { text, caption } = message as { text?: unknown; caption?: unknown };
    if (typeof text === "string" || typeof caption === "string") continue;
    const { entities: _, ...rest } = message as { entities: unknown };
    out = { ...out, [kind]: rest };
  }
  return out;
}

/** Waits out a short flood-control `retry_after` (429) and tries again, a bounded number of times. */
const retryAfterFloodWait: Parameters<Api["config"]["use"]>[0] = async (
  prev,
  method,
  payload,
  signal,
) => {
  for (let attempt = 0;; attempt++) {
    const result = await prev(method, payload, signal);
    const retryAfter = result.ok ? undefined : result.parameters?.retry_after;
    if (
      result.ok || result.error_code !== 429 || retryAfter === undefined ||
      retryAfter > MAX_RETRY_AFTER_S || attempt >= MAX_RETRIES
    ) return result;
    // The wait ends early when the caller's deadline does: then the 429 is the answer.
    const waited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), retryAfter * 1000);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve(false);
      }, { once: true });
    });
    if (!waited) return result;
  }
};

function toDeliveryError(error: unknown, timedOut: boolean): DeliveryError {
  if (error instanceof GrammyError) {
    // 403: the person blocked the bot; 400: the chat is gone. Neither heals by retrying. The
    // Bot API answers an error only for a message it did not send.
    return new DeliveryError(`telegram answered ${error.error_code}: ${error.description}`, {
      retryable: error.error_code === 429 || error.error_code >= 500,
      mayHaveSent: error.error_code >= 500,
    });
  }
  if (error instanceof HttpError) {
    if (timedOut) return new DeliveryError("telegram timed out", { retryable: true });
    if (notReached(error.error)) {
      return new DeliveryError("telegram could not be reached", {
        retryable: true,
        mayHaveSent: false,
      });
    }
    // Reached, and then something other than a Bot API answer — a proxy's error page, or the
    // connection closing: the message may have gone out.
    if (error.error instanceof NotTheBotApi) {
      return new DeliveryError(`telegram answered ${error.error.status} (not the Bot API)`, {
        retryable: true,
      });
    }
    return new DeliveryError(
      error.error instanceof SyntaxError
        ? "telegram answered something other than the Bot API"
        : "telegram connection closed before the answer",
      { retryable: true },
    );
  }
  return new DeliveryError("telegram failed", { retryable: true });
}

/** An HTTP error answer that is not the Bot API's JSON (a proxy between us and Telegram). */
class NotTheBotApi extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status} that is not a Bot API answer`);
    this.name = "NotTheBotApi";
  }
}
