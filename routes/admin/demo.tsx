/** `/admin/demo`: the one-time link `deno task demo` prints (the token in the query: paths
 * are logged). */
import { Hono } from "hono";
import { demoLinksEnabled, redeemDemoLink } from "../../core/auth/demo_links.ts";
import { AppError } from "../../core/errors.ts";
import type { AppEnv } from "../../web/env.ts";
import { LoginPage } from "../../components/LoginPages.tsx";
import { page } from "../_app.tsx";
import { setSessionCookie } from "./_cookie.ts";

/** Signs the demo's admin in with the link's token; only where demo links are enabled. */
export const demoPage = new Hono<AppEnv>()
  .get("/demo", async (c) => {
    const ctx = c.get("ctx");
    // Outside the demo there is no such page (a 404 like any unknown path).
    if (!demoLinksEnabled(ctx.config)) {
      throw new AppError("NOT_FOUND", "No route for GET /admin/demo.");
    }
    const sessionToken = await redeemDemoLink(ctx, c.req.query("token") ?? "", {
      ip: c.get("ip"),
      userAgent: c.req.header("user-agent") ?? null,
    });
    if (!sessionToken) {
      const error = "This demo link was used already or has expired. Sign in with a code.";
      return page(c, <LoginPage error={error} />, { title: "Sign in", status: 403 });
    }
    setSessionCookie(c, sessionToken);
    return c.redirect("/admin", 303);
  });
