import type { z } from "zod";
import { ERROR_STATUS, type ErrorCode } from "../core/errors.ts";
import { codeRequestSchema, codeVerifySchema, refreshSchema } from "./api/v1/auth.ts";

/**
 * When each error code is answered. Typed by `ErrorCode`, so a code added to `ERROR_STATUS`
 * does not type-check until it is explained here; statuses come from `ERROR_STATUS` itself.
 */
export const ERROR_WHEN: Record<ErrorCode, string> = {
  VALIDATION_FAILED:
    "The body or query does not match the schema, or is not JSON at all; `error.details` lists `{ path, message }`.",
  INVALID_CODE:
    "Wrong, expired, already used or unknown code or request; `error.attempts_left` when known.",
  UNAUTHORIZED:
    "Missing, invalid, expired or revoked access token, or a bad or already-rotated refresh token.",
  ACCOUNT_DISABLED: "The account's status is not `active`; `error.status` says which.",
  REAUTH_REQUIRED:
    "Deleting the account needs a session opened by a code less than 10 minutes ago (a refresh does not count): sign in again, then retry.",
  FORBIDDEN:
    "Authenticated but not allowed (not an admin), a cross-site request, or a bad webhook secret.",
  RECIPIENT_NOT_ALLOWED:
    "An SMS to this phone's country or number range is not allowed (country allowlist, blocked range).",
  NOT_FOUND: "Unknown route or resource.",
  CONFLICT:
    "The change contradicts the current state; `error.reason` says which (`test_recipient`: a test recipient cannot be an admin).",
  PAYLOAD_TOO_LARGE: "The body is over 16 KiB.",
  UNSUPPORTED_MEDIA_TYPE: "A JSON endpoint was called without a JSON body.",
  RATE_LIMITED:
    "A rate limit or resend cooldown; the `Retry-After` header and `error.retry_after` say when to try again.",
  TOO_MANY_ATTEMPTS:
    "The code has used up its attempts and can never succeed again: request a new one.",
  CHANNEL_UNAVAILABLE: "No configured channel can deliver to this recipient right now.",
  SHUTTING_DOWN:
    "The instance is stopping and took no new request; `Retry-After` says when to try again (another instance).",
  INTERNAL:
    "A bug, logged with the answer's `X-Request-Id`; the message never carries stack traces or secrets.",
};

/** The error table in Markdown: every code of `ERROR_STATUS`, by status. */
export function errorTable(): string {
  const rows = (Object.entries(ERROR_STATUS) as [ErrorCode, number][])
    .sort(([, a], [, b]) => a - b)
    .map(([code, status]) => `| ${status} | \`${code}\` | ${ERROR_WHEN[code]} |`);
  return ["| status | code | when |", "| --- | --- | --- |", ...rows].join("\n");
}

/** An error response's description: the codes answered with `status`, where the table explains them. */
export function errorResponse(status: number): string {
  const codes = Object.entries(ERROR_STATUS).filter(([, s]) => s === status);
  return `Error: ${codes.map(([code]) => `\`${code}\``).join(", ")} (see "Errors" at the top)`;
}

/** `info.description` of the OpenAPI document: how to sign in, and the error table. */
export function apiGuide(): string {
  return `One-time-code sign-in, sessions and presence.

## Signing in

1. \`POST /api/v1/auth/otp/request\` with a phone or an email answers a \`request_id\`; the code
   goes out by SMS, Telegram or email.
2. \`POST /api/v1/auth/otp/verify\` with the \`request_id\` and the code answers an \`access_token\`
   and a \`refresh_token\`.
3. Send \`Authorization: Bearer <access_token>\`. When it expires (\`expires_in\` seconds),
   \`POST /api/v1/auth/refresh\` exchanges the refresh token, once, for a new pair.

The admin endpoints also accept the dashboard's session cookie, so a signed-in admin can call
them from this page without a token.

## Errors

Every non-2xx answer from \`/api/*\` and \`/telegram/*\` is JSON:
\`{ "error": { "code": "RATE_LIMITED", "message": "…", "retry_after": 42 } }\`.

${errorTable()}
`;
}

/** A named request example, as OpenAPI's `examples` map holds them. */
type Example = { summary: string; value: Record<string, unknown> };

const EXAMPLES = new Map<z.ZodType, Record<string, Example>>([
  [codeRequestSchema, {
    phone: {
      summary: "Phone: Telegram when linked, else SMS",
      value: { phone: "+14155550100", channel: "auto" },
    },
    email: { summary: "Email", value: { email: "ada@example.com" } },
    sms_in_german: {
      summary: "Phone by SMS, in German",
      value: { phone: "+4915123456789", channel: "sms", locale: "de" },
    },
    telegram_deep_link: {
      summary: "No recipient: Telegram deep-link sign-in",
      value: { channel: "telegram" },
    },
  }],
  [codeVerifySchema, {
    code: {
      summary: "The code from the message",
      value: { request_id: "otp_01KB0Z8N5Q7YF3C2M9W4XJ6RTD", code: "493817" },
    },
  }],
  [refreshSchema, {
    refresh_token: {
      summary: "The refresh token of the last sign-in or refresh",
      value: { refresh_token: "4rT9xQ2mVb7LpZc1Ny8KsHd3Wf6Ge0JuAo5Ri2EtYkM" },
    },
  }],
]);

/** `{ examples }` for a request body validated by `schema`, or nothing when it has none. */
export function requestExamples(schema: z.ZodType): { examples?: Record<string, Example> } {
  const examples = EXAMPLES.get(schema);
  return examples ? { examples } : {};
}
