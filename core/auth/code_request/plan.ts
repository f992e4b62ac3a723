import type { DeliveryAttempt } from "../../delivery/router.ts";
import type { ContactRecipient } from "../recipients.ts";
import { type ChannelChoice, type CodeRequestContext, emptyPlan, type Plan } from "./context.ts";

/**
 * The tries, in order. `auto` for a phone: the Telegram chat it is linked to, the Telegram
 * Gateway, then SMS; an explicit `telegram` never falls back to SMS (the deep link is the way
 * on). SMS is among the tries only when SMS protection lets it out.
 */
export async function deliveryPlan(
  ctx: CodeRequestContext,
  recipient: ContactRecipient | null,
  choice: ChannelChoice,
  chatId: string | null,
): Promise<Plan> {
  const plan: Plan = emptyPlan();
  if (!recipient) return plan;
  if (recipient.kind === "email") {
    plan.attempts = keep(ctx, [{ channel: "email", to: recipient.value }]);
    return plan;
  }
  const phone = recipient.value;
  const telegram: DeliveryAttempt[] = [
    ...(chatId ? [{ channel: "telegram" as const, provider: "bot", to: chatId }] : []),
    { channel: "telegram", provider: "telegram_gateway", to: phone },
  ];
  if (choice === "telegram") {
    plan.attempts = keep(ctx, telegram);
    return plan;
  }
  if (ctx.delivery.has("sms")) {
    const verdict = await ctx.smsProtection.check(phone);
    if (verdict.ok) {
      plan.smsPrefix = verdict.prefix;
      plan.smsRelease = verdict.release;
    } else plan.smsRefused = verdict;
  }
  const sms: DeliveryAttempt[] = plan.smsPrefix ? [{ channel: "sms", to: phone }] : [];
  plan.attempts = keep(ctx, choice === "sms" ? sms : [...telegram, ...sms]);
  return plan;
}

function keep(ctx: CodeRequestContext, attempts: DeliveryAttempt[]): DeliveryAttempt[] {
  return attempts.filter((attempt) => ctx.delivery.has(attempt.channel, attempt.provider));
}
