import { timingSafeEqual } from "node:crypto";
import { createFactory } from "hono/factory";
import { AppError } from "../core/errors.ts";
import type { AppEnv } from "./env.ts";

const factory = createFactory<AppEnv>();

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Whether a state-changing request comes from our own pages. Browsers say where a request
 * comes from in `Sec-Fetch-Site` (and `Origin` on every cross-site or POST request), so a
 * form or fetch on another site can never pass, with or without the session cookie.
 */
export function isSameOrigin(headers: Headers, ownOrigins: string[]): boolean {
  const site = headers.get("sec-fetch-site");
  if (site !== null) return site === "same-origin" || site === "none";
  const origin = headers.get("origin");
  return origin !== null && ownOrigins.includes(origin);
}

/** 403 for a state-changing request from another site (CSRF). */
export const csrfGuard = factory.createMiddleware(async (c, next) => {
  if (UNSAFE.has(c.req.method)) {
    const own = [new URL(c.req.url).origin, new URL(c.get("ctx").config.publicUrl).origin];
    if (!isSameOrigin(c.req.raw.headers, own)) {
      throw new AppError("FORBIDDEN", "Cross-site request refused.");
    }
  }
  await next();
});

/**
 * Headers for HTML pages: a per-request CSP nonce (only our own scripts run), no framing,
 * no MIME sniffing, no referrer leaving the site, and no caching of admin data.
 */
export const pageSecurity = factory.createMiddleware(async (c, next) => {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  c.set("nonce", nonce);
  await next();
  c.header(
    "Content-Security-Policy",
    [
      "default-src 'self'",
      `script-src 'nonce-${nonce}' 'strict-dynamic'`,
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "object-src 'none'",
    ].join("; "),
  );
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "same-origin");
  c.header("Cache-Control", "no-store");
  c.header("Cross-Origin-Opener-Policy", "same-origin");
});

/**
 * `/metrics` access: with `METRICS_TOKEN`, only `Authorization: Bearer <token>` gets in (401
 * otherwise); without one it is open in development and test, and not served in production
 * (404), since it tells how busy the service is.
 */
export const metricsAccess = factory.createMiddleware(async (c, next) => {
  const { metricsToken, appEnv } = c.get("ctx").config;
  if (metricsToken) {
    const given = c.req.header("authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? "";
    if (!sameSecret(given, metricsToken)) {
      throw new AppError("UNAUTHORIZED", "Send the metrics token: Authorization: Bearer <token>.");
    }
  } else if (appEnv === "production") {
    throw new AppError("NOT_FOUND", "No route for GET /metrics (set METRICS_TOKEN to serve it).");
  }
  await next();
});

/** Whether two secrets are equal, in time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
