/** The dashboard's session cookie, as the sign-in pages and the admin guard set it. */
import type { Context } from "hono";
import { DASHBOARD_SESSION_TTL_MS } from "../../core/auth/dashboard_sessions.ts";
import type { AppEnv } from "../../web/env.ts";
import { SESSION_COOKIE } from "../../web/middleware.ts";

function isSecure(c: Context<AppEnv>): boolean {
  return c.get("ctx").config.publicUrl.startsWith("https://") ||
    new URL(c.req.url).protocol === "https:";
}

/** Sets the session cookie to `token`, or clears it (`null`): `__Host-` and Secure on https. */
export function setSessionCookie(c: Context<AppEnv>, token: string | null): void {
  const secure = isSecure(c);
  const name = secure ? SESSION_COOKIE.secure : SESSION_COOKIE.local;
  const attributes = ["Path=/", "HttpOnly", "SameSite=Strict", ...(secure ? ["Secure"] : [])];
  const value = token
    ? `${name}=${token}; Max-Age=${DASHBOARD_SESSION_TTL_MS / 1000}; ${attributes.join("; ")}`
    : `${name}=; Max-Age=0; ${attributes.join("; ")}`;
  c.header("Set-Cookie", value, { append: true });
}
