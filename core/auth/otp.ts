import type { CodeRequested } from "../../contract/api.ts";
import type { ChannelName } from "../../kv/otp_requests.ts";
import { AppError } from "../errors.ts";
import { toBase64Url } from "./codes.ts";
import type { ChannelChoice, CodeAsk, CodeRequestContext } from "./code_request/context.ts";
import { deliverCode } from "./code_request/deliver.ts";
import { storeRequest } from "./code_request/store.ts";
import { type ContactRecipient, formatRecipient } from "./recipients.ts";

export type { ChannelChoice, CodeRequestContext };

/** The 202 answer of a code request: a wire type, shared with the client SDK. */
export type { CodeRequested };

/**
 * Issues a code: checks the limits, stores the request (replacing the recipient's previous
 * one) and delivers it, falling back to the next channel on failure. Does the same work
 * whether or not the recipient has an account, so neither answer nor timing tell.
 *
 * In three steps: plan where the code goes (`code_request/plan.ts`), decide the limits and
 * store the request in one share of a group commit (`code_request/store.ts`), then deliver
 * it, logging every try and `otp.sent` in a second, shared commit (`code_request/deliver.ts`).
 * The per-IP and per-range counters are conflict-free sums, so requests from one IP or range
 * never contend.
 *
 * With `channel: "telegram"` the answer always carries a deep link; the code goes out now only
 * when the phone is already linked to a chat (or the Telegram Gateway can reach it), else once
 * the person opens the link and shares that phone with the bot. Without a recipient, the code
 * goes to whoever opens the link. A test recipient's request sends nothing: its fixed code
 * verifies.
 */
export async function requestCode(
  ctx: CodeRequestContext,
  input: {
    recipient: ContactRecipient | null;
    channel: ChannelChoice;
    ip: string;
    /** The language messages go out in (already one Doorman has, or `en`). */
    locale?: string;
    /** The user whose contact the code changes (`core/account/contacts.ts`); else a sign-in. */
    contactOf?: string;
  },
): Promise<CodeRequested> {
  const { recipient } = input;
  const key = recipient ? formatRecipient(recipient) : null;
  const gateway = recipient?.kind === "phone" && ctx.delivery.has("telegram", "telegram_gateway");
  const viaDeepLink = recipient === null || (input.channel === "telegram" && ctx.telegram !== null);
  if (
    (viaDeepLink && !ctx.telegram) || (input.channel === "telegram" && !ctx.telegram && !gateway)
  ) {
    throw new AppError("CHANNEL_UNAVAILABLE", "Telegram sign-in is not configured.");
  }
  const settings = await ctx.settings.get();
  const startToken = viaDeepLink ? toBase64Url(crypto.getRandomValues(new Uint8Array(24))) : null;
  const deepLink = startToken ? await ctx.telegram!.deepLink(startToken) : undefined;
  const ask: CodeAsk = {
    recipient,
    channel: input.channel,
    ip: input.ip,
    locale: input.locale ?? "en",
    to: recipient ?? { kind: "start", value: startToken! },
    startToken,
    viaDeepLink,
    testCode: key ? ctx.config.testRecipients.get(key) ?? null : null,
    contactOf: input.contactOf ?? null,
  };

  const { request, code, plan } = await storeRequest(ctx, ask, settings);
  let channel: ChannelName = request.channel;
  if (code) {
    const { ip, to, locale } = ask;
    const delivered = await deliverCode(ctx, { request, code, plan, ip, to, locale });
    channel = delivered.channel;
  }
  const answer: CodeRequested = {
    request_id: request.id,
    channel,
    expires_in: settings.otp_ttl_seconds,
    resend_after: settings.otp_resend_cooldown_seconds,
  };
  if (deepLink) answer.deep_link = deepLink;
  return answer;
}
