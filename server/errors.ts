import type { ErrorBody, ErrorCode } from "../contract/api.ts";

/** What a `DoormanError` is made of. */
export interface DoormanErrorInit {
  /** The HTTP status of the answer (401 for a token that does not verify). */
  status: number;
  /** The error code of the answer (README, "Errors"). */
  code: ErrorCode;
  /** The answer's message, for people. */
  message: string;
  /** `FORBIDDEN` to an API key: the scope it lacks. */
  scope?: string | null;
  /** Seconds to wait before trying again (429), when known. */
  retryAfter?: number | null;
  /** `VALIDATION_FAILED`: which fields did not match. */
  details?: { path: string; message: string }[];
  /** `CONFLICT`: which state the change contradicts. */
  reason?: string | null;
}

/**
 * An error of Doorman for a backend: an error answer of the API (its `status`, `code`, and
 * `scope` when an API key lacks one), or 401 `UNAUTHORIZED` for a token that does not verify.
 * The same shape as the client SDK's `DoormanError`, kept apart so a backend takes no browser
 * code and the browser bundle no jose.
 */
export class DoormanError extends Error {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The error code of the answer. */
  readonly code: ErrorCode;
  /** `FORBIDDEN` to an API key: the scope it lacks; else null. */
  readonly scope: string | null;
  /** Seconds to wait before trying again (429), else null. */
  readonly retryAfter: number | null;
  /** `VALIDATION_FAILED`: which fields did not match. */
  readonly details: { path: string; message: string }[];
  /** `CONFLICT`: which state the change contradicts; else null. */
  readonly reason: string | null;

  /** An error made of `init`'s parts. */
  constructor(init: DoormanErrorInit) {
    super(init.message);
    this.name = "DoormanError";
    this.status = init.status;
    this.code = init.code;
    this.scope = init.scope ?? null;
    this.retryAfter = init.retryAfter ?? null;
    this.details = init.details ?? [];
    this.reason = init.reason ?? null;
  }
}

/** The error of a non-2xx answer; its body is read. */
export async function errorOf(res: Response): Promise<DoormanError> {
  let error: Partial<ErrorBody["error"]> & { scope?: string } = {};
  try {
    error = (await res.json())?.error ?? {};
  } catch {
    // Not Doorman's answer (a proxy's error page): the status says what there is to say.
  }
  const retryAfter = res.headers.get("retry-after");
  return new DoormanError({
    status: res.status,
    code: error.code ?? (res.status === 401 ? "UNAUTHORIZED" : "INTERNAL"),
    message: error.message ?? `Doorman answered ${res.status} ${res.statusText}`.trim(),
    scope: error.scope,
    retryAfter: error.retry_after ??
      (retryAfter !== null && /^\s*\d+\s*$/.test(retryAfter) ? Number(retryAfter) : null),
    details: error.details,
    reason: error.reason,
  });
}

/** 401 `UNAUTHORIZED`: a token that does not verify, and why. */
export function unauthorized(message: string): DoormanError {
  return new DoormanError({ status: 401, code: "UNAUTHORIZED", message });
}
