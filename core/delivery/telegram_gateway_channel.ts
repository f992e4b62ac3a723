import {
  callProvider,
  type Channel,
  type CodeMessage,
  DeliveryError,
  type DeliveryReceipt,
} from "./channel.ts";
import { GATEWAY_CODE, type TelegramGateway } from "./telegram_gateway.ts";
import { PROVIDER_TIMEOUT_MS } from "./http_provider.ts";

const NAME = "telegram gateway";

/**
 * Codes through the Telegram Gateway, to a phone number rather than a bot chat: checks that
 * the number can receive one (`checkSendAbility`, which is billed), then sends our own code
 * under that request id (free), with the code's lifetime as `ttl`, the report URL and the otp
 * request id as `payload`. The receipt's `providerId` is the Gateway request id. One deadline
 * covers both calls. The message must carry `code` (4–8 digits), else nothing is called.
 */
export function telegramGatewayChannel(
  gateway: TelegramGateway,
  options: { callbackUrl?: string; timeoutMs?: number } = {},
): Channel {
  return {
    name: "telegram",
    provider: "telegram_gateway",
    async send(to: string, message: CodeMessage): Promise<DeliveryReceipt> {
      const code = message.code;
      // Checked first: the ability check is billed, and a code it cannot carry wastes it.
      if (code === undefined || !GATEWAY_CODE.test(code)) {
        throw new DeliveryError(`${NAME} takes codes of 4 to 8 digits`, { mayHaveSent: false });
      }
      const timeout = options.timeoutMs ?? PROVIDER_TIMEOUT_MS;
      return await callProvider(NAME, timeout, async (signal) => {
        const ability = await nothingSent(gateway.checkSendAbility(to, signal));
        if (ability === null) {
          throw new DeliveryError(`${NAME} cannot reach this number`, {
            mayHaveSent: false,
            refused: true,
          });
        }
        const sent = await gateway.sendVerificationMessage({
          phone: to,
          code,
          ttlSeconds: message.ttlSeconds,
          callbackUrl: options.callbackUrl,
          requestId: ability.requestId,
          payload: message.requestId,
        }, signal);
        return { providerId: sent.requestId };
      });
    },
  };
}

/** A failed ability check sent no message, however it failed (a timeout included). */
async function nothingSent<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (!(error instanceof DeliveryError) || !error.mayHaveSent) throw error;
    throw new DeliveryError(error.message, { ...error.options, mayHaveSent: false });
  }
}
