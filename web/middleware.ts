import type { z } from "zod";
import type { Context, MiddlewareHandler } from "hono";
import { zValidator } from "@hono/zod-validator";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { cors } from "hono/cors";
import { createFactory } from "hono/factory";
import { authenticate } from "../core/auth/sessions.ts";
import { authenticateDashboardSession } from "../core/auth/dashboard_sessions.ts";
import { type Access, requireScope } from "../core/auth/access.ts";
import { authenticateApiKey, type Scope } from "../core/auth/api_keys.ts";
import { isSameOrigin } from "./security.ts";
import { AppError } from "../core/errors.ts";
import { malformedJson } from "./errors.ts";
import type { AppEnv } from "./env.ts";
import type { AppContext } from "../core/context.ts";
import type { WebAssets } from "./assets.ts";

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 16 * 1024;

const factory = createFactory<AppEnv>();

/** The longest `X-Request-Id` a client may choose; a longer or odd one is replaced. */
const MAX_REQUEST_ID = 64;

/**
 * What every request goes through, in one middleware (five before: each a turn of the event
 * loop on every heartbeat and presence query): the context and assets set; a request id (the
 * client's `X-Request-Id` when sane, else a new one) on the request and its answer; the headers
 * every answer carries; the client's IP; CORS for the API; then, once answered, a count for
 * `/metrics` and one log line.
 */
export function requestFrame(
  ctx: AppContext,
  options: { assets: WebAssets; corsOrigins: string[] },
): MiddlewareHandler<AppEnv> {
  const cors = apiCors(options.corsOrigins);
  const { assets } = options;
  return async (c, next) => {
    c.set("ctx", ctx);
    c.set("assets", assets);
    let id = c.req.header("x-request-id");
    if (!id || id.length > MAX_REQUEST_ID || /[^\w\-=]/.test(id)) id = crypto.randomUUID();
    c.set("requestId", id);
    // Set before the answer is made, so they go into it as it is built: set afterwards, they
    // make Hono copy the whole response (a tenth of a heartbeat's time).
    c.header("X-Request-Id", id);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    const api = c.req.path.startsWith("/api/");
    if (api) c.header("Cache-Control", "no-store");
    c.set("ip", clientIpOf(c, ctx.config.trustProxy));
    const started = performance.now();
    // A request without an `Origin` (an app's backend, a mobile app) skips CORS: Hono's sets
    // its headers on every answer, which made it copy each response once more.
    if (api && c.req.header("origin") !== undefined) {
      // A preflight is answered by CORS itself, without going on.
      const preflight = await cors(c, next);
      if (preflight) c.res = preflight;
    } else await next();
    ctx.metrics.inc("doorman_http_requests_total", "HTTP requests answered by this instance.", {
      method: c.req.method,
      status: String(c.res.status),
    });
    // The path only: query strings may carry things that do not belong in logs.
    ctx.log.info("request", {
      request_id: id,
      method: c.req.method,
      path: c.req.path.slice(0, 200),
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  };
}

/** CORS for the API: only the configured origins may call it from a browser. */
function apiCors(origins: string[]): MiddlewareHandler<AppEnv> {
  return cors({
    origin: (origin) => origins.includes(origin) ? origin : null,
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    allowHeaders: ["Authorization", "Content-Type"],
    exposeHeaders: ["Retry-After", "X-Request-Id"],
    maxAge: 600,
  });
}

/**
 * The client's IP: the peer's address, or behind our own proxy (`TRUST_PROXY`) the last hop of
 * `X-Forwarded-For`, the one that proxy appended; earlier ones are the client's word.
 */
function clientIpOf(c: Context<AppEnv>, trustProxy: boolean): string {
  const peer = c.env?.remoteAddr?.hostname ?? "unknown";
  if (!trustProxy) return peer;
  const forwarded = c.req.header("x-forwarded-for")?.split(",").map((s) => s.trim())
    .filter((s) => s.length > 0 && s.length <= 64);
  return forwarded && forwarded.length > 0 ? forwarded[forwarded.length - 1] : peer;
}

/** 413 past `maxBytes`, whether the body says its length or comes chunked. */
function limitBodyTo(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError("PAYLOAD_TOO_LARGE", `The request body is over ${maxBytes} bytes.`);
    },
  });
}

/** 413 past 16 KiB. */
export const limitBody = limitBodyTo(MAX_BODY_BYTES);

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * Validates a JSON body against `schema` (400 `VALIDATION_FAILED` with details); 415 if not
 * JSON; 413 past `maxBytes` (16 KiB unless said otherwise). One middleware, not three (a size
 * limit, a type check and Hono's validator each cost a turn of the event loop on every sign-in
 * request), and the schema runs synchronously: none of the API's body schemas is async.
 */
export function jsonBody<T extends z.ZodType>(schema: T, options: { maxBytes?: number } = {}) {
  // The size limit is Hono's, called here rather than as a middleware of its own.
  const limit = options.maxBytes ? limitBodyTo(options.maxBytes) : limitBody;
  const validate: MiddlewareHandler<
    AppEnv,
    string,
    { in: { json: z.input<T> }; out: { json: z.output<T> } }
  > = async (c, next) => {
    // In this order, as ever: too large, then not JSON, then malformed, then the schema.
    await limit(c, async () => {
      requireJsonType(c.req.header("content-type"));
      let value: unknown;
      try {
        value = JSON.parse(await c.req.text());
      } catch {
        // Hono's own refusal, as its validator threw it: answered 400 and logged as what it is.
        throw new HTTPException(400, { message: "Malformed JSON in request body" });
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) throw validationFailed(parsed.error);
      c.req.addValidatedData("json", parsed.data as object);
      await next();
    });
  };
  return [validate] as const;
}

/**
 * Reads a body that may be left out: no body (or a blank one) validates `{}`; anything else
 * must be JSON matching `schema`. Use after `limitBody`.
 */
export async function optionalJsonBody<T extends z.ZodType>(
  c: Context<AppEnv>,
  schema: T,
): Promise<z.infer<T>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== "") {
    requireJsonType(c.req.header("content-type"));
    try {
      value = JSON.parse(text);
    } catch {
      throw malformedJson();
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationFailed(parsed.error);
  return parsed.data;
}

function requireJsonType(contentType: string | undefined): void {
  if (!JSON_TYPE.test(contentType ?? "")) {
    throw new AppError(
      "UNSUPPORTED_MEDIA_TYPE",
      "Send a JSON body with Content-Type: application/json.",
    );
  }
}

/** Validates the query string against `schema`. */
export function query<T extends z.ZodType>(schema: T) {
  return zValidator("query", schema, (result) => {
    if (!result.success) throw validationFailed(result.error);
  });
}

/**
 * The query string validated against `schema`, in a handler (as `query(schema)` would give
 * it): a parameter given once is a string, one repeated is an array.
 */
export function validQuery<T extends z.ZodType>(c: Context<AppEnv>, schema: T): z.infer<T> {
  const value = Object.fromEntries(
    Object.entries(c.req.queries()).map(([k, v]) => v.length === 1 ? [k, v[0]] : [k, v]),
  );
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationFailed(parsed.error);
  return parsed.data;
}

/** 400 `VALIDATION_FAILED` listing each problem as `{ path, message }`. */
export function validationFailed(
  error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] },
): AppError {
  const details = error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
  return new AppError("VALIDATION_FAILED", "The request does not match the expected shape.", {
    details,
  });
}

/** Requires a valid access token of an active user; sets `caller`. */
export const requireUser = factory.createMiddleware(async (c, next) => {
  c.set("caller", await authenticate(c.get("ctx"), c.req.header("authorization")));
  await next();
});

/** The secret of an `Authorization: Bearer dk_…` header, if it carries an API key. */
function apiKeyOf(authorization: string | undefined): string | undefined {
  const match = authorization?.match(/^Bearer\s+(dk_\S{0,200})\s*$/i);
  return match?.[1];
}

/**
 * Requires an active admin (the role as stored now, not as in the token): by Bearer token, or
 * by the dashboard's session cookie — which, being sent by the browser on its own, also needs
 * the request to come from our own pages when it changes anything. Sets `caller` and `access`.
 */
export const requireAdmin = factory.createMiddleware(async (c, next) => {
  const ctx = c.get("ctx");
  const authorization = c.req.header("authorization");
  const cookie = sessionCookie(c.req.header("cookie"));
  let caller;
  if (authorization || !cookie) {
    caller = await authenticate(ctx, authorization);
  } else {
    const own = [new URL(c.req.url).origin, new URL(ctx.config.publicUrl).origin];
    if (UNSAFE_METHODS.has(c.req.method) && !isSameOrigin(c.req.raw.headers, own)) {
      throw new AppError("FORBIDDEN", "Cross-site request refused.");
    }
    caller = await authenticateDashboardSession(ctx, cookie);
  }
  if (caller.user.role !== "admin") {
    throw new AppError("FORBIDDEN", "This needs an admin account.");
  }
  c.set("caller", caller);
  c.set("access", { kind: "admin", caller });
  await next();
});

/**
 * The admin API's door: a server API key (`Bearer dk_…`; 401 when unknown, revoked or
 * expired) or an admin as `requireAdmin` takes them. Sets `access`; each route then names
 * the scope it needs with `scope(…)`.
 */
export const requireAdminOrKey = factory.createMiddleware(async (c, next) => {
  const secret = apiKeyOf(c.req.header("authorization"));
  if (secret === undefined) return await requireAdmin(c, next);
  c.set("access", { kind: "key", key: await authenticateApiKey(c.get("ctx"), secret) });
  await next();
});

/** Requires `needed` of the caller (an admin has every scope); 403 naming it otherwise. */
export function scope(needed: Scope) {
  return factory.createMiddleware(async (c, next) => {
    requireScope(c.get("access"), needed);
    await next();
  });
}

/** Requires an admin's own sign-in: an API key is refused (403), whatever its scopes. */
export const adminSignInOnly = factory.createMiddleware(async (c, next) => {
  if (c.get("access").kind !== "admin") {
    throw new AppError("FORBIDDEN", "Only an admin's sign-in may do this, not an API key.");
  }
  await next();
});

/** Requires a server API key (any scope); a user's access token is 401. */
export const requireApiKey = factory.createMiddleware(async (c, next) => {
  const secret = apiKeyOf(c.req.header("authorization"));
  if (secret === undefined) {
    throw new AppError("UNAUTHORIZED", "Send an API key: Authorization: Bearer dk_….");
  }
  c.set("access", { kind: "key", key: await authenticateApiKey(c.get("ctx"), secret) });
  await next();
});

/**
 * A user's access token, or an API key holding `keyScope` (403 naming it otherwise): sets
 * `caller` for a user, and `access` either way.
 */
export function requireUserOrKey(keyScope: Scope) {
  return factory.createMiddleware(async (c, next) => {
    const ctx = c.get("ctx");
    const secret = apiKeyOf(c.req.header("authorization"));
    if (secret === undefined) return await requireUser(c, next);
    const access: Access = { kind: "key", key: await authenticateApiKey(ctx, secret) };
    requireScope(access, keyScope);
    c.set("access", access);
    await next();
  });
}

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Names of the dashboard cookie: `__Host-` bound to https, plain on http://localhost. */
export const SESSION_COOKIE = { secure: "__Host-doorman_session", local: "doorman_session" };

/** The dashboard session token from a Cookie header, if any. */
export function sessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const at = part.indexOf("=");
    const name = part.slice(0, at).trim();
    if (name === SESSION_COOKIE.secure || name === SESSION_COOKIE.local) {
      const value = part.slice(at + 1).trim();
      if (/^[A-Za-z0-9_-]{20,100}$/.test(value)) return value;
    }
  }
  return undefined;
}
