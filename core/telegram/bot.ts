import type { Bot, Context } from "grammy/web";
import { claimUpdate } from "../../kv/telegram.ts";
import { maskRecipient } from "../auth/recipients.ts";
import {
  continueRequest,
  sharePhone,
  type TelegramChat,
  type TelegramFlowContext,
  unlink,
} from "./flows.ts";

const SHARE_BUTTON = "Share my phone number";

/** A keyboard with the one button that shares the person's own, Telegram-verified number. */
const shareKeyboard = {
  keyboard: [[{ text: SHARE_BUTTON, request_contact: true }]],
  one_time_keyboard: true,
  resize_keyboard: true,
  is_persistent: false,
};
const noKeyboard = { remove_keyboard: true as const };

function masked(phone: string): string {
  return maskRecipient({ kind: "phone", value: phone });
}

/** The bot's conversation: `/start <token>`, sharing a contact, `/unlink`, and help. */
export function installHandlers(bot: Bot, ctx: TelegramFlowContext): void {
  // Telegram re-sends an update it thinks was lost; each is handled once, on any instance.
  bot.use(async (c, next) => {
    if (await claimUpdate(ctx.kv, c.update.update_id)) await next();
  });
  // Only private chats: codes never go to groups, so groups get no answer at all.
  bot.filter((c) => c.chat?.type !== "private", () => {});

  bot.command("start", async (c) => {
    const chat = chatOf(c);
    const token = c.match.trim();
    if (!token) {
      await c.reply(
        `Hi! I send ${ctx.config.appName} sign-in codes. Share your phone number once, and codes for it ` +
          `will arrive here instead of by SMS.`,
        { reply_markup: shareKeyboard },
      );
      return;
    }
    const { outcome, phone } = await continueRequest(ctx, token.slice(0, 64), chat);
    switch (outcome) {
      case "sent":
        return;
      case "share_phone":
        await c.reply(
          `To sign in as ${
            masked(phone!)
          }, tap "${SHARE_BUTTON}" below. Only your own number works.`,
          { reply_markup: shareKeyboard },
        );
        return;
      case "expired":
        await c.reply(
          "This sign-in link has expired or was already used. Start again from the app.",
          { reply_markup: noKeyboard },
        );
        return;
      case "failed":
        await c.reply("Sorry, the code could not be sent. Please try again in a minute.");
        return;
      case "linked":
        await c.reply(
          `This Telegram account is now linked to your ${ctx.config.appName} account.`,
          { reply_markup: noKeyboard },
        );
        return;
      case "in_use":
        await c.reply(
          `This Telegram account is already linked to another ${ctx.config.appName} account. ` +
            "Nothing was changed.",
          { reply_markup: noKeyboard },
        );
        return;
    }
  });

  bot.on("message:contact", async (c) => {
    const contact = c.message.contact;
    const result = await sharePhone(ctx, chatOf(c), {
      phone: contact.phone_number,
      userId: contact.user_id === undefined ? undefined : String(contact.user_id),
    });
    if (result.outcome === "not_own") {
      await c.reply(
        `That is someone else's contact. Please share your own number with the ` +
          `"${SHARE_BUTTON}" button below.`,
        { reply_markup: shareKeyboard },
      );
    } else if (result.outcome === "invalid") {
      await c.reply("That does not look like a phone number I can send codes for.", {
        reply_markup: noKeyboard,
      });
    } else if (result.pendingFor) {
      await c.reply(
        `Linked ${masked(result.phone)} to this chat. The sign-in you started is for ` +
          `${masked(result.pendingFor)}, though: start again from the app with this number.`,
        { reply_markup: noKeyboard },
      );
    } else if (!result.sent) {
      await c.reply(
        `Linked ${masked(result.phone)} to this chat: sign-in codes for it will arrive here. ` +
          "Send /unlink to stop.",
        { reply_markup: noKeyboard },
      );
    }
  });

  bot.command("unlink", async (c) => {
    const phone = await unlink(ctx, chatOf(c));
    await c.reply(
      phone
        ? `Unlinked ${masked(phone)}. Its codes will go by SMS again.`
        : "This chat is not linked to a phone number.",
      { reply_markup: noKeyboard },
    );
  });

  bot.on("message", async (c) => {
    await c.reply(
      `I only send ${ctx.config.appName} sign-in codes. Commands: /start to link your phone number, ` +
        "/unlink to unlink it.",
    );
  });
}

function chatOf(c: Context): TelegramChat {
  return { id: String(c.chat!.id), firstName: c.from?.first_name };
}
