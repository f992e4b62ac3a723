import {
  callProvider,
  type Channel,
  type CodeMessage,
  DeliveryError,
  type DeliveryReceipt,
  sendingClient,
} from "./channel.ts";
import { PROVIDER_TIMEOUT_MS } from "./webhook.ts";

/**
 * SMS through Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`). With
 * `statusCallbackUrl`, each message asks Twilio to `POST` its status changes there (signed, see
 * `twilio_signature.ts`). The receipt's `providerId` is the message SID, when the answer was read.
 */
export function twilioChannel(
  options: {
    accountSid: string;
    authToken: string;
    from: string;
    apiRoot: string;
    timeoutMs?: number;
    statusCallbackUrl?: string;
  },
): Channel {
  const url = `${options.apiRoot}/2010-04-01/Accounts/${
    encodeURIComponent(options.accountSid)
  }/Messages.json`;
  const authorization = `Basic ${btoa(`${options.accountSid}:${options.authToken}`)}`;
  const client = sendingClient();
  return {
    name: "sms",
    provider: "twilio",
    async send(to: string, message: CodeMessage): Promise<DeliveryReceipt> {
      const form = new URLSearchParams({ To: to, From: options.from, Body: message.text });
      if (options.statusCallbackUrl) form.set("StatusCallback", options.statusCallbackUrl);
      const timeout = options.timeoutMs ?? PROVIDER_TIMEOUT_MS;
      return await callProvider("twilio", timeout, async (signal) => {
        const response = await fetch(url, {
          method: "POST",
          headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
          body: form,
          signal,
          client,
        });
        if (response.ok) {
          // Twilio created the message: it is sent even when the rest of the answer is lost.
          const created = await response.json().catch(() => null) as { sid?: unknown } | null;
          return typeof created?.sid === "string" ? { providerId: created.sid } : {};
        }
        // Twilio explains refusals as `{ code, message }`; the code is safe to log. A 4xx is
        // Twilio refusing the message before taking it (bad number, no permission, rate).
        const detail = await response.json().catch(() => null) as { code?: number } | null;
        throw new DeliveryError(
          `twilio answered ${response.status}${detail?.code ? ` (error ${detail.code})` : ""}`,
          {
            retryable: response.status >= 500 || response.status === 429,
            mayHaveSent: response.status >= 500,
          },
        );
      });
    },
  };
}
