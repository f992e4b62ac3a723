import { Buffer } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Delivery reports of the Telegram Gateway API (core.telegram.org/gateway/api#report-delivery):
 * a `POST` of a RequestStatus JSON object to the `callback_url` of a send, with
 * `X-Request-Timestamp` (Unix seconds) and `X-Request-Signature`, the hex HMAC-SHA-256 of
 * `<timestamp>\n<raw body>` keyed by the SHA-256 digest of the API token.
 */

/** `DeliveryStatus.status` values the Gateway documents. */
export const GATEWAY_DELIVERY_STATES = ["sent", "delivered", "read", "expired", "revoked"] as const;

/** Where a verification message is. */
export type GatewayDeliveryState = typeof GATEWAY_DELIVERY_STATES[number];

/** `VerificationStatus.status` values the Gateway documents. */
export const GATEWAY_VERIFICATION_STATES = [
  "code_valid",
  "code_invalid",
  "code_max_attempts_exceeded",
  "expired",
] as const;

/** What the Gateway knows of the code typed in. */
export type GatewayVerificationState = typeof GATEWAY_VERIFICATION_STATES[number];

/** A RequestStatus object, in our casing. */
export interface GatewayRequestStatus {
  requestId: string;
  phoneNumber: string;
  /** `request_cost`, in Gateway credits. */
  cost: number;
  isRefunded?: boolean;
  remainingBalance?: number;
  deliveryStatus?: { status: GatewayDeliveryState; updatedAt: number };
  verificationStatus?: {
    status: GatewayVerificationState;
    updatedAt: number;
    codeEntered?: string;
  };
  /** Our own `payload` (the otp request id), echoed back. */
  payload?: string;
}

/** A delivery report that passed `parseGatewayReport`. */
export interface GatewayReport {
  requestId: string;
  /** Our otp request id, when the send carried one. */
  payload: string | null;
  status: GatewayDeliveryState;
  /** Unix seconds. */
  updatedAt: number;
  phoneNumber: string | null;
  isRefunded: boolean;
}

/** How far a report's timestamp may be from our clock, either way, in seconds. */
export const REPORT_WINDOW_SECONDS = 300;

/** The header pair a report is signed with. */
export const REPORT_TIMESTAMP_HEADER = "x-request-timestamp";
export const REPORT_SIGNATURE_HEADER = "x-request-signature";

/** The hex signature of a report body at `timestamp`, as the Gateway computes it. */
export function signGatewayReport(
  token: string,
  report: { timestamp: string | number; body: string | Uint8Array },
): string {
  const key = createHash("sha256").update(token).digest();
  return createHmac("sha256", key).update(`${report.timestamp}\n`).update(report.body).digest(
    "hex",
  );
}

/**
 * Whether a report really comes from the Gateway: a well-formed signature over this exact
 * body, compared in constant time, and a timestamp within `REPORT_WINDOW_SECONDS` of
 * `nowSeconds` (a replayed old report is refused).
 */
export function verifyGatewayReport(
  token: string,
  report: { headers: Headers; body: string | Uint8Array; nowSeconds: number },
): boolean {
  const timestamp = report.headers.get(REPORT_TIMESTAMP_HEADER)?.trim() ?? "";
  const signature = report.headers.get(REPORT_SIGNATURE_HEADER)?.trim() ?? "";
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-fA-F]{64}$/.test(signature)) return false;
  if (Math.abs(report.nowSeconds - Number(timestamp)) > REPORT_WINDOW_SECONDS) return false;
  const expected = Buffer.from(signGatewayReport(token, { timestamp, body: report.body }), "hex");
  return timingSafeEqual(expected, Buffer.from(signature, "hex"));
}

/** A report body as a typed report, or null when it is not one (not JSON, fields missing). */
export function parseGatewayReport(body: string | Uint8Array): GatewayReport | null {
  const status = parseRequestStatus(parseJson(body));
  if (!status?.deliveryStatus) return null;
  return {
    requestId: status.requestId,
    payload: status.payload ?? null,
    status: status.deliveryStatus.status,
    updatedAt: status.deliveryStatus.updatedAt,
    phoneNumber: status.phoneNumber || null,
    isRefunded: status.isRefunded === true,
  };
}

/** A RequestStatus from the Gateway's JSON, or null when it is not one. */
export function parseRequestStatus(value: unknown): GatewayRequestStatus | null {
  if (!isObject(value) || !nonEmptyString(value.request_id)) return null;
  const out: GatewayRequestStatus = {
    requestId: value.request_id,
    phoneNumber: typeof value.phone_number === "string" ? value.phone_number : "",
    cost: typeof value.request_cost === "number" ? value.request_cost : 0,
  };
  if (typeof value.is_refunded === "boolean") out.isRefunded = value.is_refunded;
  if (typeof value.remaining_balance === "number") out.remainingBalance = value.remaining_balance;
  if (typeof value.payload === "string") out.payload = value.payload;
  if (value.delivery_status !== undefined) {
    const delivery = value.delivery_status;
    if (
      !isObject(delivery) || !oneOf(GATEWAY_DELIVERY_STATES, delivery.status) ||
      !isTimestamp(delivery.updated_at)
    ) {
      return null;
    }
    out.deliveryStatus = { status: delivery.status, updatedAt: delivery.updated_at };
  }
  if (value.verification_status !== undefined) {
    const verification = value.verification_status;
    if (
      !isObject(verification) || !oneOf(GATEWAY_VERIFICATION_STATES, verification.status) ||
      !isTimestamp(verification.updated_at)
    ) {
      return null;
    }
    out.verificationStatus = { status: verification.status, updatedAt: verification.updated_at };
    if (typeof verification.code_entered === "string") {
      out.verificationStatus.codeEntered = verification.code_entered;
    }
  }
  return out;
}

function parseJson(body: string | Uint8Array): unknown {
  try {
    return JSON.parse(typeof body === "string" ? body : new TextDecoder().decode(body));
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 256;
}

function isTimestamp(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function oneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (values as readonly string[]).includes(value);
}
