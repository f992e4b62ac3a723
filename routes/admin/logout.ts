/** `/admin/logout`: ends the dashboard session and its sign-in. */
import { Hono } from "hono";
import { closeDashboardSession } from "../../core/auth/dashboard_sessions.ts";
import type { AppEnv } from "../../web/env.ts";
import { sessionCookie } from "../../web/middleware.ts";
import { setSessionCookie } from "./_cookie.ts";

/** Signs out (even with a session that already ended) and goes to the sign-in page. */
export const logoutPage = new Hono<AppEnv>()
  .post("/logout", async (c) => {
    const token = sessionCookie(c.req.header("cookie"));
    if (token) await closeDashboardSession(c.get("ctx"), token);
    setSessionCookie(c, null);
    return c.redirect("/admin/login", 303);
  });
