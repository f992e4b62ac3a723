/**
 * The OpenAPI 3.1 document (`GET /api/v1/openapi.json`), built from the zod schemas that
 * validate the requests. Longer than the house's ~300 lines on purpose: it is one table, a
 * path an entry, and reads best in one place.
 */
import { z } from "zod";
import { settingsPatchSchema } from "../core/settings.ts";
import { VERSION } from "../core/version.ts";
import {
  auditListSchema,
  deliveryListSchema,
  statsQuerySchema,
  userListSchema,
  userPatchSchema,
} from "./api/v1/admin.ts";
import {
  codeRequestSchema,
  codeVerifySchema,
  introspectSchema,
  logoutSchema,
  refreshSchema,
} from "./api/v1/auth.ts";
import { apiKeyCreateSchema } from "./api/v1/admin_api_keys.ts";
import {
  contactRequestSchema,
  contactVerifySchema,
  telegramLinkSchema,
} from "./api/v1/me_contacts.ts";
import { presenceQuerySchema } from "./api/v1/presence.ts";
import { mePatchSchema, presenceContactsSchema } from "./api/v1/me_privacy.ts";
import { apiGuide, errorResponse, requestExamples } from "./openapi_guide.ts";

type Json = Record<string, unknown>;

/** JSON Schema of what a client sends, from the same zod schema that validates it. */
function input(schema: z.ZodType): Json {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
  delete json.$schema;
  return json;
}

const error = { $ref: "#/components/schemas/Error" };
const errors = (...codes: number[]): Json =>
  Object.fromEntries(codes.map((code) => [String(code), {
    description: errorResponse(code),
    content: { "application/json": { schema: error } },
  }]));
const ok = (status: number, description: string): Json => ({
  [String(status)]: { description },
});
const body = (schema: z.ZodType, required = true): Json => ({
  required,
  content: { "application/json": { schema: input(schema), ...requestExamples(schema) } },
});
const query = (schema: z.ZodType): Json[] => {
  const json = input(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
};
const path = (name: string): Json => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
});
const bearer = [{ bearer: [] }];
/** An admin's sign-in, or a server API key holding the route's scope. */
const admin = [{ bearer: [] }, { cookie: [] }, { apiKey: [] }];
const adminSignIn = [{ bearer: [] }, { cookie: [] }];
const apiKey = [{ apiKey: [] }];

/** The OpenAPI 3.1 description of the HTTP API, built from the schemas that validate requests. */
export function openApiDocument(serverUrl: string): Json {
  return tagged({
    openapi: "3.1.0",
    info: {
      title: "Doorman",
      version: VERSION,
      description: apiGuide(),
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        cookie: { type: "apiKey", in: "cookie", name: "__Host-doorman_session" },
        apiKey: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "dk_…",
          description: "A server API key. A call outside its scopes is 403 with error.scope.",
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string" },
                message: { type: "string" },
                details: { type: "array", items: { type: "object" } },
                retry_after: { type: "integer" },
                attempts_left: { type: "integer" },
                status: { type: "string" },
                scope: { type: "string" },
              },
            },
          },
        },
      },
    },
    paths: {
      "/api/v1/auth/otp/request": {
        post: {
          summary: "Request a one-time code",
          requestBody: body(codeRequestSchema),
          responses: {
            ...ok(202, "{ request_id, channel, expires_in, resend_after, deep_link? }"),
            ...errors(400, 413, 415, 429, 503),
          },
        },
      },
      "/api/v1/auth/otp/verify": {
        post: {
          summary: "Verify a code and sign in",
          requestBody: body(codeVerifySchema),
          responses: {
            ...ok(200, "{ access_token, refresh_token, token_type, expires_in, user }"),
            ...errors(400, 403, 413, 415, 429),
          },
        },
      },
      "/api/v1/auth/refresh": {
        post: {
          summary: "Exchange a refresh token for a new pair",
          requestBody: body(refreshSchema),
          responses: { ...ok(200, "Same shape as verify"), ...errors(400, 401, 403) },
        },
      },
      "/api/v1/auth/logout": {
        post: {
          summary: "End this sign-in",
          security: bearer,
          requestBody: body(logoutSchema, false),
          responses: { ...ok(204, "Signed out"), ...errors(401, 403) },
        },
      },
      "/api/v1/auth/introspect": {
        post: {
          summary: "Whether an access token works right now (an API key, any scope; RFC 7662)",
          security: apiKey,
          requestBody: body(introspectSchema),
          responses: {
            ...ok(200, "{ active: true, sub, sid, exp, iat, role, status } or { active: false }"),
            ...errors(400, 401, 413, 415),
          },
        },
      },
      "/api/v1/me": {
        delete: {
          summary:
            "Erase the caller's account and everything about it (a session opened by a code in the last 10 minutes; else 403 REAUTH_REQUIRED)",
          security: bearer,
          responses: { ...ok(204, "Erased"), ...errors(401, 403) },
        },
        patch: {
          summary: "Choose who sees the caller's presence (presence_visibility)",
          security: bearer,
          requestBody: body(mePatchSchema),
          responses: { ...ok(200, "{ user }"), ...errors(400, 401, 403, 413, 415) },
        },
        get: {
          summary: "The signed-in user",
          security: bearer,
          responses: { ...ok(200, "{ user }"), ...errors(401, 403) },
        },
      },
      "/api/v1/me/export": {
        get: {
          summary: "Everything Doorman keeps about the caller (data portability)",
          security: bearer,
          responses: {
            ...ok(200, "{ user, sessions, presence: { visibility, contacts }, events }"),
            ...errors(401, 403),
          },
        },
      },
      "/api/v1/me/presence-contacts": {
        get: {
          summary: "The caller's presence contacts (who sees them under 'contacts')",
          security: bearer,
          responses: { ...ok(200, "{ user_ids }"), ...errors(401, 403) },
        },
        put: {
          summary: "Replace the caller's presence contacts (at most 1,000 ids, deduplicated)",
          security: bearer,
          requestBody: body(presenceContactsSchema),
          responses: { ...ok(200, "{ user_ids }"), ...errors(400, 401, 403, 413, 415) },
        },
      },
      "/api/v1/sessions": {
        get: {
          summary: "The caller's active sign-ins, newest first",
          security: bearer,
          responses: {
            ...ok(
              200,
              "{ sessions: [{ id, created_at, last_used_at, user_agent, ip, current }] }",
            ),
            ...errors(401, 403),
          },
        },
        delete: {
          summary: "End every sign-in of the caller but the current one",
          security: bearer,
          responses: { ...ok(204, "Ended"), ...errors(401, 403) },
        },
      },
      "/api/v1/sessions/{id}": {
        delete: {
          summary: "End one of the caller's sign-ins (its tokens stop working at once)",
          security: bearer,
          parameters: [path("id")],
          responses: { ...ok(204, "Ended"), ...errors(401, 403, 404) },
        },
      },
      "/api/v1/me/contact/request": {
        post: {
          summary: "Send a code to a phone or email to add to (or replace on) the caller's account",
          description: "The same limits and SMS pumping guards as sign-in codes, and the same " +
            "answer whether or not the contact belongs to another account. A contact the caller " +
            "already has: 409 CONFLICT (reason already_linked).",
          security: bearer,
          requestBody: body(contactRequestSchema),
          responses: {
            ...ok(202, "{ request_id, channel, expires_in, resend_after, deep_link? }"),
            ...errors(400, 401, 403, 409, 413, 415, 429, 503),
          },
        },
      },
      "/api/v1/me/contact/verify": {
        post: {
          summary: "Verify a contact code: the contact is added, or replaces the old one",
          description: "A contact of another account: 409 CONFLICT (reason contact_in_use), " +
            "nothing changes. A replaced phone or email is told; user.contact_changed is emitted.",
          security: bearer,
          requestBody: body(contactVerifySchema),
          responses: { ...ok(200, "{ user }"), ...errors(400, 401, 403, 409, 413, 415, 429) },
        },
      },
      "/api/v1/me/telegram/link": {
        post: {
          summary: "A deep link whose Start links that Telegram account to the caller",
          security: bearer,
          requestBody: body(telegramLinkSchema, false),
          responses: {
            ...ok(200, "{ deep_link, expires_in }"),
            ...errors(400, 401, 403, 413, 415, 429, 503),
          },
        },
      },
      "/api/v1/me/contact/{kind}": {
        delete: {
          summary: "Remove the caller's phone, email or Telegram account",
          description: "409 CONFLICT (reason last_contact) when it would leave no way to sign in.",
          security: bearer,
          parameters: [{
            name: "kind",
            in: "path",
            required: true,
            schema: { type: "string", enum: ["phone", "email", "telegram"] },
          }],
          responses: { ...ok(204, "Removed"), ...errors(401, 403, 404, 409) },
        },
      },
      "/api/v1/presence/heartbeat": {
        post: {
          summary: "Keep the signed-in user online",
          security: bearer,
          responses: {
            ...ok(200, "{ status, last_seen, next_heartbeat_in }"),
            ...errors(401, 403),
          },
        },
      },
      "/api/v1/presence": {
        get: {
          summary: "Presence of up to 100 users (or an API key with presence:read)",
          security: [...bearer, ...apiKey],
          parameters: query(presenceQuerySchema),
          responses: {
            ...ok(200, "{ users: [{ user_id, status, last_seen }] }"),
            ...errors(400, 401, 403),
          },
        },
      },
      "/api/v1/presence/ws-ticket": {
        post: {
          summary: "A single-use ticket (30 s) that opens one presence WebSocket",
          security: bearer,
          responses: { ...ok(200, "{ ticket, expires_in }"), ...errors(401, 403) },
        },
      },
      "/api/v1/presence/ws": {
        get: {
          summary: "Presence WebSocket, opened with ?ticket= (first message: { type: 'ready' })",
          parameters: [{ name: "ticket", in: "query", required: true, schema: { type: "string" } }],
          responses: {
            ...ok(101, "Switching protocols"),
            ...errors(400, 401, 403),
          },
        },
      },
      "/api/v1/admin/stats": {
        get: {
          summary:
            "Dashboard numbers over the last hour (per minute), 24 hours or 7 days (per hour)",
          security: admin,
          parameters: query(statsQuerySchema),
          responses: {
            ...ok(200, "{ users, otp, series: [{ minute, at, … }], funnel, channels }"),
            ...errors(400, 401, 403),
          },
        },
      },
      "/api/v1/admin/users": {
        get: {
          summary: "Users with presence",
          security: admin,
          parameters: query(userListSchema),
          responses: { ...ok(200, "{ users, cursor }"), ...errors(400, 401, 403) },
        },
      },
      "/api/v1/admin/users.csv": {
        get: {
          summary: "Every user as CSV (text/csv attachment, newest first)",
          security: admin,
          responses: { ...ok(200, "text/csv"), ...errors(401, 403) },
        },
      },
      "/api/v1/admin/users/{id}": {
        get: {
          summary: "One user with presence, active sign-ins and recent events",
          security: admin,
          parameters: [path("id")],
          responses: { ...ok(200, "{ user, sessions, events }"), ...errors(401, 403, 404) },
        },
        patch: {
          summary:
            "Change a user's status or role; a suspension may end by itself (suspended_until)",
          security: admin,
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: body(userPatchSchema),
          // 409: the role admin for a test recipient.
          responses: { ...ok(200, "{ user }"), ...errors(400, 401, 403, 404, 409) },
        },
        delete: {
          summary:
            "Erase a user and everything about them (users:write; audited as user.delete; 404 once erased)",
          security: admin,
          parameters: [path("id")],
          responses: { ...ok(204, "Erased"), ...errors(401, 403, 404) },
        },
      },
      "/api/v1/admin/users/{id}/export": {
        get: {
          summary: "Everything Doorman keeps about a user, as GET /api/v1/me/export (users:read)",
          security: admin,
          parameters: [path("id")],
          responses: {
            ...ok(200, "{ user, sessions, presence: { visibility, contacts }, events }"),
            ...errors(401, 403, 404),
          },
        },
      },
      "/api/v1/admin/users/{id}/presence-contacts": {
        put: {
          summary: "Replace any user's presence contacts (scope contacts:write; audited)",
          security: admin,
          parameters: [path("id")],
          requestBody: body(presenceContactsSchema),
          responses: { ...ok(200, "{ user_ids }"), ...errors(400, 401, 403, 404, 413, 415) },
        },
      },
      "/api/v1/admin/users/{id}/sessions": {
        delete: {
          summary: "End every sign-in of a user; they go offline (audited)",
          security: admin,
          parameters: [path("id")],
          responses: { ...ok(204, "Ended"), ...errors(401, 403, 404) },
        },
      },
      "/api/v1/admin/users/{id}/sessions/{sid}": {
        delete: {
          summary: "End one sign-in of a user (audited)",
          security: admin,
          parameters: [path("id"), path("sid")],
          responses: { ...ok(204, "Ended"), ...errors(401, 403, 404) },
        },
      },
      "/api/v1/admin/audit": {
        get: {
          summary: "What admins changed, newest first",
          security: admin,
          parameters: query(auditListSchema),
          responses: {
            ...ok(
              200,
              "{ entries: [{ id, at, actor: { user_id, ip, name }, action, target, target_name, changes }], cursor }",
            ),
            ...errors(400, 401, 403),
          },
        },
      },
      "/api/v1/admin/events.csv": {
        get: {
          summary: "The event log of the last 24 hours as CSV (text/csv attachment)",
          security: admin,
          responses: { ...ok(200, "text/csv"), ...errors(401, 403) },
        },
      },
      "/api/v1/admin/config": {
        get: {
          summary: "Settings with defaults and overrides, and the boot configuration (no secrets)",
          security: admin,
          responses: { ...ok(200, "{ settings, boot }"), ...errors(401, 403) },
        },
      },
      "/api/v1/admin/settings/{name}": {
        delete: {
          summary: "Put one setting back to its default (audited)",
          security: admin,
          parameters: [path("name")],
          responses: { ...ok(200, "Every setting"), ...errors(400, 401, 403, 404) },
        },
      },
      "/api/v1/admin/settings": {
        get: {
          summary: "The settings in force",
          security: admin,
          responses: { ...ok(200, "Every setting"), ...errors(401, 403) },
        },
        put: {
          summary: "Change some settings",
          security: admin,
          requestBody: body(settingsPatchSchema),
          responses: { ...ok(200, "Every setting"), ...errors(400, 401, 403) },
        },
      },
      "/api/v1/admin/deliveries": {
        get: {
          summary: "Every delivery attempt, newest first (kept 7 days; never the code)",
          security: admin,
          parameters: query(deliveryListSchema),
          responses: { ...ok(200, "{ deliveries, cursor }"), ...errors(400, 401, 403) },
        },
      },
      "/api/v1/admin/fraud": {
        get: {
          summary: "Number ranges blocked for SMS, and today's SMS against the daily limit",
          security: admin,
          responses: {
            ...ok(200, "{ blocked_prefixes, sms_today, sms_daily_limit }"),
            ...errors(401, 403),
          },
        },
      },
      "/api/v1/admin/webhooks": {
        get: {
          summary: "Outbound event webhook: where events go (URL masked) and how delivery goes",
          security: admin,
          responses: {
            ...ok(
              200,
              "{ url, pending, delivered_24h, failed_24h, last_error, last_error_at, last_success_at }",
            ),
            ...errors(401, 403),
          },
        },
      },
      "/api/v1/admin/fraud/prefixes/{prefix}": {
        delete: {
          summary: "Lift the block of a number range (audited as fraud.prefix_unblock)",
          security: admin,
          parameters: [{ name: "prefix", in: "path", required: true, schema: { type: "string" } }],
          responses: { ...ok(204, "Lifted"), ...errors(400, 401, 403, 404) },
        },
      },
      "/api/v1/admin/signing-keys": {
        get: {
          summary:
            "Access-token signing keys: kid, alg, state, created_at, activated_at, retired_at",
          security: admin,
          responses: { ...ok(200, "{ keys: [ … ] }"), ...errors(401, 403) },
        },
        post: {
          summary: "A new standby key, published in the JWKS at once (audited)",
          security: admin,
          responses: { ...ok(201, "{ key }"), ...errors(401, 403) },
        },
      },
      "/api/v1/admin/signing-keys/{kid}/activate": {
        post: {
          summary: "The key signs from now on; the current one becomes previous (audited). " +
            "409 key_not_ready before SIGNING_KEY_PUBLISH_SECONDS",
          security: admin,
          parameters: [{ name: "kid", in: "path", required: true, schema: { type: "string" } }],
          responses: { ...ok(200, "{ key }"), ...errors(401, 403, 404, 409) },
        },
      },
      "/api/v1/admin/signing-keys/{kid}/revoke": {
        post: {
          summary: "Its tokens are refused on every instance within 1 s (audited). " +
            "409 key_in_use for the current key",
          security: admin,
          parameters: [{ name: "kid", in: "path", required: true, schema: { type: "string" } }],
          responses: { ...ok(200, "{ key }"), ...errors(401, 403, 404, 409) },
        },
      },
      "/api/v1/admin/api-keys": {
        get: {
          summary: "Server API keys, never their secrets (a key needs settings:write)",
          security: admin,
          responses: {
            ...ok(
              200,
              "{ keys: [{ id, name, scopes, prefix, created_at, created_by, expires_at, last_used_at }] }",
            ),
            ...errors(401, 403),
          },
        },
        post: {
          summary: "Create a key; its secret (dk_…) is shown only here (an admin's sign-in only)",
          security: adminSignIn,
          requestBody: body(apiKeyCreateSchema),
          responses: { ...ok(201, "{ key, secret }"), ...errors(400, 401, 403, 413, 415) },
        },
      },
      "/api/v1/admin/api-keys/{id}": {
        delete: {
          summary: "Revoke a key: refused on every instance within 1 s (audited as api_key.revoke)",
          security: admin,
          parameters: [path("id")],
          responses: { ...ok(204, "Revoked"), ...errors(401, 403, 404) },
        },
      },
      "/api/v1/admin/events": {
        get: {
          summary: "Server-sent events: presence, otp, user, channel, fraud, audit",
          security: admin,
          responses: { ...ok(200, "text/event-stream"), ...errors(401, 403) },
        },
      },
      "/api/v1/health": {
        get: {
          summary: "Readiness",
          responses: { ...ok(200, "ok or degraded"), ...ok(503, "down") },
        },
      },
      "/health": { get: { summary: "Liveness", responses: ok(200, "{ status: 'ok' }") } },
      "/.well-known/jwks.json": {
        get: {
          summary: "Public keys of access tokens (JWKS; cached 300 s), for any backend to verify",
          responses: ok(200, "{ keys: [ { kty, crv, x, y?, kid, alg, use: 'sig' } ] }"),
        },
      },
      "/metrics": { get: { summary: "Prometheus metrics", responses: ok(200, "text/plain") } },
      "/telegram/gateway/report": {
        post: {
          summary: "Telegram Gateway delivery reports (signed with the API token)",
          responses: { ...ok(200, "Accepted"), ...errors(400, 403, 404, 413) },
        },
      },
      "/twilio/status": {
        post: {
          summary: "Twilio message status callbacks (X-Twilio-Signature required)",
          responses: { ...ok(204, "Accepted"), ...errors(400, 403, 404, 413, 415) },
        },
      },
      "/telegram/webhook": {
        post: {
          summary: "Telegram Bot API updates (secret token header required)",
          responses: { ...ok(200, "Accepted"), ...errors(400, 403, 404, 413, 415) },
        },
      },
    },
  });
}

/** The groups of the reference, in order, and which paths fall in each. */
const TAGS: { name: string; description: string; paths: RegExp }[] = [
  {
    name: "Sign-in",
    description: "One-time codes, tokens, the signed-in user",
    paths: /^\/api\/v1\/(auth|me)\b/,
  },
  { name: "Sessions", description: "A user's own sign-ins", paths: /^\/api\/v1\/sessions\b/ },
  {
    name: "Presence",
    description: "Heartbeats, who is online, the WebSocket",
    paths: /^\/api\/v1\/presence\b/,
  },
  {
    name: "Admin",
    description: "Admins (Bearer or the dashboard's cookie) and server API keys (by scope)",
    paths: /^\/api\/v1\/admin\b/,
  },
  {
    name: "Providers",
    description: "What Telegram and Twilio call (signed)",
    paths: /^\/(telegram|twilio)\//,
  },
  { name: "Operations", description: "Health and metrics", paths: /./ },
];

/** Gives every operation the tag of its path, so the reference groups them. */
function tagged(document: Json): Json {
  const paths = document.paths as Record<string, Record<string, Json>>;
  for (const [path, operations] of Object.entries(paths)) {
    const tag = TAGS.find((candidate) => candidate.paths.test(path))!.name;
    for (const operation of Object.values(operations)) operation.tags = [tag];
  }
  document.tags = TAGS.map(({ name, description }) => ({ name, description }));
  return document;
}
