import { maskRecipient } from "../auth/recipients.ts";
import { contactChangedNotice } from "../delivery/notices.ts";
import type { DeliveryAttempt, DeliveryRouter } from "../delivery/router.ts";
import type { SmsProtection } from "../delivery/sms_protection.ts";
import type { Services } from "../services.ts";
import { Writes } from "../../kv/writes.ts";

/**
 * Tells a phone or email that its account now uses another one, by the way codes reach it
 * (SMS or email), in the language of the change. An SMS counts like a code's under the SMS
 * caps and the day's budget (and is not sent where a code would be refused), so changing
 * numbers is no way around them. A notice that cannot go out is logged, never an error: the
 * change itself is done.
 */
export async function sendReplacedNotice(
  ctx: Services & { delivery: DeliveryRouter; smsProtection: SmsProtection },
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
    if (kind === "phone" && !await countSms(ctx, old)) return;
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

/** Counts an SMS notice to `phone` under the SMS caps; false (logged) when it may not go. */
async function countSms(
  ctx: Services & { smsProtection: SmsProtection },
  phone: string,
): Promise<boolean> {
  const verdict = await ctx.smsProtection.check(phone);
  if (!verdict.ok) {
    ctx.log.warn("contact change notice not sent", {
      to: maskRecipient({ kind: "phone", value: phone }),
      reason: verdict.reason,
    });
    return false;
  }
  const writes = new Writes();
  ctx.smsProtection.count(writes, verdict.prefix, ctx.clock.now());
  const committed = await ctx.commits.commit(writes) !== null;
  verdict.release(committed);
  return committed;
}
