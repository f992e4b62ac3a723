import type { ErrorCode } from "../contract/api.ts";
import { KvContention } from "../kv/retry.ts";
import { InvalidCursor } from "../kv/cursor.ts";

/** The error table (README, "Errors"): every code a client can receive, with its status. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_CODE: 400,
  UNAUTHORIZED: 401,
  ACCOUNT_DISABLED: 403,
  REAUTH_REQUIRED: 403,
  FORBIDDEN: 403,
  RECIPIENT_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  TOO_MANY_ATTEMPTS: 429,
  CHANNEL_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

/** One of the error codes of the README's error table: a wire type, shared with the client SDK. */
export type { ErrorCode };

/** Extra fields an error carries into `error.*` of the JSON body (`retry_after`, `details`, …). */
export type ErrorExtra = Record<string, unknown>;

/** An error meant for the client: its code, status and message go out as the README's "Errors" says. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extra: ErrorExtra;

  constructor(code: ErrorCode, message: string, extra: ErrorExtra = {}) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.extra = extra;
  }

  /** The JSON error body every non-2xx API answer carries. */
  toBody(): { error: { code: ErrorCode; message: string } & ErrorExtra } {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

/** A 429 `RATE_LIMITED` whose `retry_after` is whole seconds, at least 1. */
export function rateLimited(message: string, retryAfterMs: number): AppError {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError("RATE_LIMITED", `${message} Try again in ${retryAfter} s.`, {
    retry_after: retryAfter,
  });
}

/**
 * What happened, for the log, when `clientError` answered something other than an `AppError`:
 * a write given up on is worth a warning; a list read with a made-up cursor is the client's.
 */
export function clientErrorCause(
  error: unknown,
): { level: "info" | "warn"; message: string } | null {
  if (error instanceof KvContention) {
    return { level: "warn", message: "gave up on a contended write" };
  }
  if (error instanceof InvalidCursor) return { level: "info", message: "an unknown list cursor" };
  return null;
}

/**
 * The client-facing form of an error core code let through, or null for a bug. A write that
 * kept losing to others past the retry budget is busy, not broken: 429, try again in 1 s.
 */
export function clientError(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  if (error instanceof InvalidCursor) {
    return new AppError("VALIDATION_FAILED", "The cursor is not one this list gave out.", {
      details: [{ path: "cursor", message: "unknown cursor: start again without it" }],
    });
  }
  if (error instanceof KvContention) {
    return new AppError("RATE_LIMITED", "Too many simultaneous requests. Try again in 1 s.", {
      retry_after: 1,
    });
  }
  return null;
}
