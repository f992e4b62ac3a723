import {
  callProvider,
  type Channel,
  type CodeMessage,
  DeliveryError,
  type DeliveryReceipt,
} from "./channel.ts";
import { providerSender } from "./provider_client.ts";
import { PROVIDER_TIMEOUT_MS } from "./http_provider.ts";

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
  const url = new URL(
    `${options.apiRoot}/2010-04-01/Accounts/${
      encodeURIComponent(options.accountSid)
    }/Messages.json`,
  );
  const path = `${url.pathname}${url.search}`;
  const headers = {
    authorization: `Basic ${btoa(`${options.accountSid}:${options.authToken}`)}`,
    "content-type": "application/x-www-form-urlencoded",
  };
  const client = providerSender(url);
  return {
    name: "sms",
    provider: "twilio",
    async send(to: string, message: CodeMessage): Promise<DeliveryReceipt> {
      const form = new URLSearchParams({ To: to, From: options.from, Body: message.text });
      if (options.statusCallbackUrl) form.set("StatusCallback", options.statusCallbackUrl);
      const timeout = options.timeoutMs ?? PROVIDER_TIMEOUT_MS;
      return await callProvider("twilio", timeout, async (signal) => {
        const answer = await client.request(
          { method: "POST", path, headers, body: form.toString() },
          signal,
        );
        const { status } = answer;
        if (status >= 200 && status <= 299) {
          // Twilio created the message: it is sent even when the rest of the answer is lost.
          const created = jsonOf(answer.body) as { sid?: unknown } | null;
          return typeof created?.sid === "string" ? { providerId: created.sid } : {};
        }
        // Twilio explains refusals as `{ code, message }`; the code is safe to log. A 4xx is
        // Twilio refusing the message before taking it (bad number, no permission, rate).
        const detail = jsonOf(answer.body) as { code?: number } | null;
        throw new DeliveryError(
          `twilio answered ${status}${detail?.code ? ` (error ${detail.code})` : ""}`,
          { retryable: status >= 500 || status === 429, mayHaveSent: status >= 500 },
        );
      });
    },
  };
}

/** The body as JSON; null when it is not JSON, or was lost on the way. */
function jsonOf(body: string | null): unknown {
  try {
    return body === null ? null : JSON.parse(body);
  } catch {
    return null;
  }
}
