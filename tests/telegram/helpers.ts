import {
  contactUpdate,
  type FakeTelegram,
  startFakeTelegram,
  textUpdate,
} from "../../fakes/telegram.ts";
import { type Harness, startHarness } from "../helpers.ts";
import type { Clock } from "../../core/clock.ts";

/** The webhook secret the Telegram tests configure. */
export const WEBHOOK_SECRET = "webhook-secret_123";
/** A Telegram id above 2^32, as real ones are. */
export const PERSON = { id: 5_000_000_001, first_name: "Ada" };

/** A harness whose Telegram bot talks to a fake Bot API. */
export interface TelegramHarness extends AsyncDisposable {
  h: Harness;
  tg: FakeTelegram;
  /** Posts an update to the webhook with the right secret and waits until it is processed. */
  deliver(update: Record<string, unknown>): Promise<Response>;
  /** The person sends a text message. */
  say(text: string, from?: { id: number; first_name?: string }): Promise<void>;
  /** The person shares a contact (their own unless `userId` says otherwise). */
  share(phone: string, options?: { userId?: number; from?: { id: number } }): Promise<void>;
  /** The code in the newest message the bot sent to a chat. */
  lastCode(chatId?: number): string | undefined;
}

/** Starts a fake Bot API and a harness configured for it. */
export async function startTelegramHarness(
  options: { env?: Record<string, string>; kv?: Deno.Kv; clock?: Clock; tg?: FakeTelegram } = {},
): Promise<TelegramHarness> {
  const tg = options.tg ?? startFakeTelegram({ token: "123456:TEST" });
  const h = await startHarness({
    kv: options.kv,
    clock: options.clock,
    env: {
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      ...options.env,
    },
  });
  const deliver = async (update: Record<string, unknown>) => {
    const res = await h.app.request("/telegram/webhook", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": WEBHOOK_SECRET,
      },
      body: JSON.stringify(update),
    });
    await h.ctx.telegram!.idle();
    return res;
  };
  return {
    h,
    tg,
    deliver,
    async say(text, from = PERSON) {
      await (await deliver(textUpdate({ from, text }))).body?.cancel();
    },
    async share(phone, shareOptions = {}) {
      const from = shareOptions.from ?? PERSON;
      const update = contactUpdate({
        from,
        contact: { phone_number: phone, user_id: shareOptions.userId ?? from.id },
      });
      await (await deliver(update)).body?.cancel();
    },
    lastCode(chatId = PERSON.id) {
      const message = tg.messages.findLast((m) => m.chat_id === chatId && /<code>/.test(m.text));
      return message?.text.match(/<code>(\d+)<\/code>/)?.[1];
    },
    async [Symbol.asyncDispose]() {
      await h[Symbol.asyncDispose]();
      if (!options.tg) await tg.close();
    },
  };
}
