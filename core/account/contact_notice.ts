import { maskRecipient } from "../auth/recipients.ts";
import { contactChangedNotice } from "../delivery/notices.ts";
import type { DeliveryAttempt, DeliveryRouter } from "../delivery/router.ts";
import type { Services } from "../services.ts";

/**
 * Tells a phone or email that its account now uses another one, by the way codes reach it
 * (SMS or email), in the language of the change. A notice
 * that cannot go out is logged, never an error: the change itself is done.
 */
export async function sendReplacedNotice(
  ctx: Services & { delivery: DeliveryRouter },
  options: { kind: "phone" | "email"; old: string; next: string; locale?: string },
): Promise<void> {
  const { kind, old, next } = options;
  // By SMS, not the phone's Telegram chat: the bot's messages delete themselves, and a notice
  // of a change nobody asked for must stay to be read.
  const attempts: DeliveryAttempt[] = [{ channel: kind === "email" ? "email" : "sms", to: old }];
  const message = contactChangedNotice(kind, {
    replacedBy: maskRecipient({ kind, value: next }),
    locale: options.locale,
    appName: ctx.config.appName,
  });
  try {
    const sent = await ctx.delivery.deliver(attempts, message);
    ctx.log.info("contact change notice sent", {
      to: maskRecipient({ kind, value: old }),
      channel: sent.channel,
    });
  } catch (error) {
    ctx.log.warn("contact change notice not sent", {
      to: maskRecipient({ kind, value: old }),
      error: error instanceof Error ? error.message : "unexpected failure",
    });
  }
}
