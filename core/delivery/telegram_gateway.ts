import { callProvider, DeliveryError } from "./channel.ts";
import { type ProviderSender, providerSender } from "./provider_client.ts";
import {
  type GatewayReport,
  type GatewayRequestStatus,
  parseGatewayReport,
  parseRequestStatus,
  verifyGatewayReport,
} from "./telegram_gateway_report.ts";
import { PROVIDER_TIMEOUT_MS } from "./http_provider.ts";

export type { GatewayReport, GatewayRequestStatus };

/**
 * A client of the Telegram Gateway API (core.telegram.org/gateway/api): verification codes to
 * any phone number registered on Telegram, no bot needed. Every method is
 * `POST <apiRoot>/<method>` with a JSON body and `Authorization: Bearer <token>`; answers are
 * `{ ok: true, result }` or `{ ok: false, error: "PHONE_NUMBER_INVALID" }`. Failures are
 * `DeliveryError`s whose message names the failure and never carries the code or the token.
 */

/** Where the Gateway API lives. */
export const GATEWAY_API_ROOT = "https://gatewayapi.telegram.org";

/** Codes the Gateway delivers when we set them ourselves: 4 to 8 digits. */
export const GATEWAY_CODE = /^\d{4,8}$/;

/** The `ttl` range the Gateway accepts, in seconds. */
export const GATEWAY_TTL_SECONDS = { min: 30, max: 3600 } as const;

/** `payload` and `callback_url` limits, in bytes. */
const MAX_PAYLOAD_BYTES = 128;
const MAX_CALLBACK_URL_BYTES = 256;

const NAME = "telegram gateway";

/**
 * Errors with which the Gateway refuses a call without doing it: no message went out (the
 * tutorial: "if the method returns an error (e.g., because the user cannot receive codes),
 * you will not be charged"). Any other error may come after the message left.
 */
const REFUSALS = new Set([
  "ACCESS_TOKEN_INVALID",
  "ACCESS_TOKEN_REQUIRED",
  "BALANCE_NOT_ENOUGH",
  "CALLBACK_URL_INVALID",
  "CODE_INVALID",
  "CODE_LENGTH_INVALID",
  "CODE_LENGTH_REQUIRED",
  "PAYLOAD_INVALID",
  "PHONE_NUMBER_INVALID",
  "PHONE_NUMBER_NOT_FOUND",
  "REQUEST_ID_INVALID",
  "REQUEST_ID_REQUIRED",
  "SENDER_NOT_OWNED",
  "SENDER_NOT_VERIFIED",
  "SENDER_USERNAME_INVALID",
  "TTL_INVALID",
  "UNKNOWN_METHOD",
]);

/** checkSendAbility errors that mean this number cannot get a message through the Gateway. */
const UNREACHABLE = new Set(["PHONE_NUMBER_NOT_FOUND", "PHONE_NUMBER_INVALID"]);

/** The Gateway answered `ok: false`; `error` is its error string (safe to log). */
export class GatewayApiError extends DeliveryError {
  /** From `FLOOD_WAIT_<seconds>`. */
  readonly retryAfterSeconds?: number;

  constructor(readonly error: string) {
    const flood = /^FLOOD_WAIT_(\d+)$/.exec(error);
    const refused = flood !== null || REFUSALS.has(error);
    super(`${NAME} answered ${error}`, {
      retryable: !refused || flood !== null,
      mayHaveSent: !refused,
    });
    this.name = "GatewayApiError";
    if (flood) this.retryAfterSeconds = Number(flood[1]);
  }
}

/** One verification message to send. */
export interface GatewayMessage {
  /** E.164. */
  phone: string;
  /** Our own code, 4 to 8 digits. */
  code: string;
  /** How long the code lives; sent as `ttl`, brought into 30–3600. */
  ttlSeconds?: number;
  /** HTTPS URL for delivery reports (the Gateway refuses others), at most 256 bytes. */
  callbackUrl?: string;
  /** From checkSendAbility: the send is then free (and may be made only once). */
  requestId?: string;
  /** Echoed back in reports (our otp request id), at most 128 bytes. */
  payload?: string;
}

/** A Gateway API client; `close()` releases its sending connection pool. */
export class TelegramGateway implements Disposable {
  readonly #token: string;
  readonly #apiRoot: string;
  readonly #timeoutMs: number;
  /** The API root's path, each method's name after it. */
  readonly #basePath: string;
  /**
   * Kept-alive connections that never send a request twice: a send that went out twice would
   * be billed twice.
   */
  readonly #sender: ProviderSender;

  constructor(options: { token: string; apiRoot?: string; timeoutMs?: number }) {
    this.#token = options.token;
    this.#apiRoot = (options.apiRoot ?? GATEWAY_API_ROOT).replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? PROVIDER_TIMEOUT_MS;
    this.#basePath = new URL(this.#apiRoot).pathname.replace(/\/+$/, "");
    this.#sender = providerSender(this.#apiRoot);
  }

  /**
   * Whether `phone` can get a verification message: its request id (pass it to
   * `sendVerificationMessage` and the send is free) and the cost charged for it, or null when
   * the number cannot receive one (`PHONE_NUMBER_NOT_FOUND`, `PHONE_NUMBER_INVALID`).
   */
  async checkSendAbility(
    phone: string,
    signal?: AbortSignal,
  ): Promise<{ requestId: string; cost: number } | null> {
    try {
      const status = await this.#call("checkSendAbility", { phone_number: phone }, { signal });
      return { requestId: status.requestId, cost: status.cost };
    } catch (error) {
      if (error instanceof GatewayApiError && UNREACHABLE.has(error.error)) return null;
      throw error;
    }
  }

  /** Sends our code; the answer carries the Gateway's request id and delivery status. */
  async sendVerificationMessage(
    message: GatewayMessage,
    signal?: AbortSignal,
  ): Promise<GatewayRequestStatus> {
    if (!GATEWAY_CODE.test(message.code)) {
      throw new DeliveryError(`${NAME} takes codes of 4 to 8 digits`, { mayHaveSent: false });
    }
    if (message.payload !== undefined && byteLength(message.payload) > MAX_PAYLOAD_BYTES) {
      throw new DeliveryError(`${NAME} payload is over 128 bytes`, { mayHaveSent: false });
    }
    if (
      message.callbackUrl !== undefined && byteLength(message.callbackUrl) > MAX_CALLBACK_URL_BYTES
    ) {
      throw new DeliveryError(`${NAME} callback URL is over 256 bytes`, { mayHaveSent: false });
    }
    const params: Record<string, string | number> = {
      phone_number: message.phone,
      code: message.code,
    };
    if (message.requestId !== undefined) params.request_id = message.requestId;
    if (message.ttlSeconds !== undefined) params.ttl = gatewayTtl(message.ttlSeconds);
    if (message.callbackUrl !== undefined) params.callback_url = message.callbackUrl;
    if (message.payload !== undefined) params.payload = message.payload;
    return await this.#call("sendVerificationMessage", params, { signal });
  }

  /**
   * Tells the Gateway which code the user typed (Doorman checks codes itself; this keeps the
   * Gateway's conversion statistics right) and returns the request's status.
   */
  async checkVerificationStatus(
    requestId: string,
    code?: string,
    signal?: AbortSignal,
  ): Promise<GatewayRequestStatus> {
    const params: Record<string, string> = { request_id: requestId };
    if (code !== undefined) params.code = code;
    return await this.#call("checkVerificationStatus", params, { signal });
  }

  /**
   * Asks the Gateway to revoke a message; true when the request was received. A message
   * already delivered or read stays.
   */
  async revokeVerificationMessage(requestId: string, signal?: AbortSignal): Promise<boolean> {
    const result = await this.#request("revokeVerificationMessage", { request_id: requestId }, {
      signal,
    });
    return result === true;
  }

  /** Whether a delivery report is genuine and fresh (see `verifyGatewayReport`). */
  verifyReport(headers: Headers, body: string | Uint8Array, nowSeconds: number): boolean {
    return verifyGatewayReport(this.#token, { headers, body, nowSeconds });
  }

  /** A report body as a typed report, or null. */
  static parseReport(body: string | Uint8Array): GatewayReport | null {
    return parseGatewayReport(body);
  }

  /** Closes its idle connections. */
  close(): void {
    this.#sender.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #call(
    method: string,
    params: Record<string, string | number>,
    options: { signal?: AbortSignal },
  ): Promise<GatewayRequestStatus> {
    const status = parseRequestStatus(await this.#request(method, params, options));
    if (!status) throw new DeliveryError(`${NAME} answered an unreadable ${method} result`);
    return status;
  }

  async #request(
    method: string,
    params: Record<string, string | number>,
    options: { signal?: AbortSignal },
  ): Promise<unknown> {
    return await callProvider(NAME, this.#timeoutMs, async (deadline) => {
      const outer = options.signal;
      try {
        const answer = await this.#sender.request({
          method: "POST",
          path: `${this.#basePath}/${method}`,
          headers: {
            authorization: `Bearer ${this.#token}`,
            "content-type": "application/json",
          },
          body: JSON.stringify(params),
        }, outer ? AbortSignal.any([outer, deadline]) : deadline);
        return answerOf(answer.status, answer.body ?? "");
      } catch (error) {
        // The caller's deadline ended the call, not ours: still a timeout.
        if (outer?.aborted && !deadline.aborted && !(error instanceof DeliveryError)) {
          throw new DeliveryError(`${NAME} timed out`, { retryable: true });
        }
        throw error;
      }
    });
  }
}

/** The `result` of an answer, or the `DeliveryError` it stands for. */
function answerOf(status: number, text: string): unknown {
  let envelope: unknown = null;
  try {
    envelope = JSON.parse(text);
  } catch {
    // Not the API's JSON: a proxy or the front server answered (e.g. nginx 502 page).
  }
  if (typeof envelope === "object" && envelope !== null && "ok" in envelope) {
    const answer = envelope as { ok: unknown; result?: unknown; error?: unknown };
    if (answer.ok === true) return answer.result;
    const error = typeof answer.error === "string" && /^[A-Z0-9_]{1,64}$/.test(answer.error)
      ? answer.error
      : "an unknown error";
    throw new GatewayApiError(error);
  }
  // A 4xx the API itself did not explain is a front refusing the request before the API.
  throw new DeliveryError(`${NAME} answered ${status}`, {
    retryable: status >= 500 || status === 429,
    mayHaveSent: status < 400 || status >= 500,
  });
}

/** A code lifetime as a `ttl` the Gateway accepts. */
export function gatewayTtl(seconds: number): number {
  return Math.min(
    GATEWAY_TTL_SECONDS.max,
    Math.max(GATEWAY_TTL_SECONDS.min, Math.ceil(seconds)),
  );
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}
