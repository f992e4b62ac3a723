import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, clientError, clientErrorCause } from "../core/errors.ts";
import type { AppEnv } from "./env.ts";

/** Maps anything thrown to the error table; unknown errors become a bare `INTERNAL`. */
export function toAppError(error: unknown): AppError {
  const known = clientError(error);
  if (known) return known;
  if (error instanceof HTTPException) {
    // Hono's own: the JSON validator's parse failure, mostly.
    if (error.status === 413) return new AppError("PAYLOAD_TOO_LARGE", "The body is too large.");
    if (error.status === 400) return malformedJson();
  }
  return new AppError("INTERNAL", "Something went wrong on our side. It has been logged.");
}

/** The 400 of a body that does not parse as JSON. */
export function malformedJson(): AppError {
  return new AppError("VALIDATION_FAILED", "The request body is not valid JSON.", {
    details: [{ path: "(body)", message: "malformed JSON" }],
  });
}

/** `app.onError`: the JSON error body; `INTERNAL` is logged with its request id and stack. */
export function answerError(error: Error, c: Context<AppEnv>): Response {
  const appError = reportError(error, c);
  return c.json(appError.toBody(), appError.status as 400);
}

/**
 * The error table's entry for anything thrown, logged as `answerError` logs it (and with
 * `Retry-After` set): for error answers in another form, like the dashboard's HTML pages.
 */
export function reportError(error: Error, c: Context<AppEnv>): AppError {
  const appError = toAppError(error);
  if (appError.code === "INTERNAL") {
    c.get("ctx").log.error("unhandled error", {
      request_id: c.get("requestId"),
      error: `${error.name}: ${error.message}`,
      stack: error.stack,
    });
  } else if (!(error instanceof AppError)) {
    const { level, message } = clientErrorCause(error) ?? bodyRefused(appError);
    c.get("ctx").log.log(level, message, {
      request_id: c.get("requestId"),
      status: appError.status,
      error: error.message,
    });
  }
  if (appError.code === "RATE_LIMITED") {
    c.header("Retry-After", String(appError.extra.retry_after));
  }
  return appError;
}

/** Hono's own refusals of a body (the only other errors `toAppError` answers as 4xx). */
function bodyRefused(appError: AppError): { level: "info"; message: string } {
  return {
    level: "info",
    message: appError.code === "PAYLOAD_TOO_LARGE"
      ? "the request body is too large"
      : "the request body is not valid JSON",
  };
}

/** 404 `NOT_FOUND` for a path no route takes. */
export function answerNotFound(c: Context<AppEnv>): Response {
  const error = new AppError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`);
  return c.json(error.toBody(), 404);
}
