/** The one guard of the dashboard's pages: only a signed-in admin gets past it. */
import { createFactory } from "hono/factory";
import { authenticateDashboardSession } from "../../core/auth/dashboard_sessions.ts";
import { AppError } from "../../core/errors.ts";
import type { AppEnv } from "../../web/env.ts";
import { sessionCookie } from "../../web/middleware.ts";
import { NotAdminPage } from "../../components/LoginPages.tsx";
import { page } from "../_app.tsx";
import { setSessionCookie } from "./_cookie.ts";
import { inDevelopment } from "./_page.tsx";

const factory = createFactory<AppEnv>();

/**
 * Sets `caller` to the signed-in admin. Without a session cookie: to the sign-in page, which
 * comes back here after; with one that no longer works: cleared, to the sign-in page; a
 * signed-in non-admin: 403 "Admins only".
 */
export const adminOnly = factory.createMiddleware(async (c, next) => {
  const token = sessionCookie(c.req.header("cookie"));
  if (!token) {
    const { pathname, search } = new URL(c.req.url);
    return c.redirect(`/admin/login?next=${encodeURIComponent(pathname + search)}`, 303);
  }
  const caller = await authenticateDashboardSession(c.get("ctx"), token).catch((error) => {
    // An ended or expired session is no error to show: the person signs in again.
    if (!(error instanceof AppError)) throw error;
    return null;
  });
  if (!caller) {
    setSessionCookie(c, null);
    return c.redirect("/admin/login", 303);
  }
  if (caller.user.role !== "admin") {
    return page(c, <NotAdminPage dev={inDevelopment(c)} />, {
      title: "Admins only",
      status: 403,
    });
  }
  c.set("caller", caller);
  await next();
});
