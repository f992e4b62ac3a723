import type { ErrorBody, ErrorCode } from "../contract/api.ts";

/** What a `DoormanError` is made of. */
export interface DoormanErrorInit {
  /** The HTTP status of the answer. */
  status: number;
  /** The error code of the answer (README, "Errors"). */
  code: ErrorCode;
  /** The answer's message, for people. */
  message: string;
  /** Seconds to wait before trying again (429), when known. */
  retryAfter?: number | null;
  /** `INVALID_CODE`: attempts the code has left, when known. */
  attemptsLeft?: number | null;
  /** `VALIDATION_FAILED`: which fields did not match. */
  details?: { path: string; message: string }[];
  /** `CONFLICT`: which state the change contradicts (`contact_in_use`, `last_contact`, …). */
  reason?: string | null;
}

/**
 * An error answer of Doorman (README, "Errors"): the HTTP `status`, the error `code`, and
 * `retryAfter`, the seconds to wait before trying again (429), else null.
 */
export class DoormanError extends Error {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The error code of the answer. */
  readonly code: ErrorCode;
  /** Seconds to wait before trying again (429), else null. */
  readonly retryAfter: number | null;
  /** `INVALID_CODE`: attempts the code has left, when known. */
  readonly attemptsLeft: number | null;
  /** `VALIDATION_FAILED`: which fields did not match. */
  readonly details: { path: string; message: string }[];
  /** `CONFLICT`: which state the change contradicts (`contact_in_use`, `last_contact`, …), else null. */
  readonly reason: string | null;

  /** An error made of `init`'s parts. */
  constructor(init: DoormanErrorInit) {
    super(init.message);
    this.name = "DoormanError";
    this.status = init.status;
    this.code = init.code;
    this.retryAfter = init.retryAfter ?? null;
    this.attemptsLeft = init.attemptsLeft ?? null;
    this.details = init.details ?? [];
    this.reason = init.reason ?? null;
  }
}

/** The error of a non-2xx answer; its body is read. */
export async function errorOf(res: Response): Promise<DoormanError> {
  let error: Partial<ErrorBody["error"]> = {};
  try {
    error = (await res.json())?.error ?? {};
  } catch {
    // Not Doorman's answer (a proxy's error page): the status says what there is to say.
  }
  return new DoormanError({
    status: res.status,
    code: error.code ?? (res.status === 401 ? "UNAUTHORIZED" : "INTERNAL"),
    message: error.message ?? `Doorman answered ${res.status} ${res.statusText}`.trim(),
    retryAfter: error.retry_after ?? retryAfterOf(res.headers.get("retry-after")),
    attemptsLeft: error.attempts_left,
    reason: error.reason,
    details: error.details,
  });
}

/** `Retry-After` in seconds: a number of seconds or an HTTP date. */
function retryAfterOf(header: string | null): number | null {
  if (header === null) return null;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Thrown when a call needs a session and none is stored. */
export function notSignedIn(): DoormanError {
  return new DoormanError({ status: 401, code: "UNAUTHORIZED", message: "Not signed in." });
}

/** The JSON of a 2xx answer; anything else throws its `DoormanError`. */
export async function bodyOf<T>(res: Response): Promise<T> {
  if (!res.ok) throw await errorOf(res);
  return await res.json();
}

/** Waits for a 2xx answer without a body (204); anything else throws its `DoormanError`. */
export async function noContent(res: Response): Promise<void> {
  if (!res.ok) throw await errorOf(res);
  await res.body?.cancel();
}
