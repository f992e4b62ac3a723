import { createHmac } from "node:crypto";
import {
  callProvider,
  type Channel,
  type ChannelName,
  type CodeMessage,
  DeliveryError,
} from "./channel.ts";
import { providerSender } from "./provider_client.ts";

/** How long a provider may take before the channel counts as failed. */
export const PROVIDER_TIMEOUT_MS = 5_000;

/**
 * The `webhook` provider: `POST` JSON to a URL of the operator's, signed with
 * `X-Doorman-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret is set.
 * SMS bodies are `{ to, text }`; email bodies `{ to, subject, text, html }`.
 */
export function httpProviderChannel(
  name: Exclude<ChannelName, "telegram">,
  options: { url: string; secret?: string; timeoutMs?: number },
): Channel {
  const signed = options.secret ? signer(options.secret) : null;
  const client = providerSender(options.url);
  const target = new URL(options.url);
  const path = `${target.pathname}${target.search}`;
  return {
    name,
    provider: "webhook",
    async send(to: string, message: CodeMessage): Promise<void> {
      const body = JSON.stringify(
        name === "sms"
          ? { to, text: message.text }
          : { to, subject: message.subject, text: message.emailText, html: message.html },
      );
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (signed) headers["x-doorman-signature"] = await signed(body);
      const timeout = options.timeoutMs ?? PROVIDER_TIMEOUT_MS;
      await callProvider(`${name} webhook`, timeout, async (signal) => {
        const { status } = await client.request({ method: "POST", path, headers, body }, signal);
        if (status < 200 || status > 299) {
          throw new DeliveryError(`${name} webhook answered ${status}`, {
            retryable: status >= 500,
          });
        }
      });
    },
  };
}

/** `sha256=<hex>` of HMAC-SHA256(secret, body): what receivers compare against. */
export async function sign(secret: string, body: string): Promise<string> {
  return await signer(secret)(body);
}

/**
 * A signing function for one secret. node:crypto's HMAC needs no key import and no round
 * trip through the runtime: for a provider signing every message it is the cheapest.
 */
export function signer(secret: string): (body: string) => Promise<string> {
  const key = new TextEncoder().encode(secret);
  return (body) =>
    Promise.resolve(`sha256=${createHmac("sha256", key).update(body).digest("hex")}`);
}
