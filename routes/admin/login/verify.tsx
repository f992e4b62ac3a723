/** `/admin/login/verify`: the code that was sent; a right one signs the admin in. */
import { Hono } from "hono";
import { signInToDashboard } from "../../../core/auth/dashboard_sessions.ts";
import { AppError } from "../../../core/errors.ts";
import type { AppEnv } from "../../../web/env.ts";
import { limitBody } from "../../../web/middleware.ts";
import { CodePage, LoginPage, NotAdminPage } from "../../../components/LoginPages.tsx";
import { page } from "../../_app.tsx";
import { ID } from "../../_validation.ts";
import { setSessionCookie } from "../_cookie.ts";
import { formOf, inDevelopment } from "../_page.tsx";

/** The pages sign-in may go on to: a dashboard page (a user's page too), never another site. */
const NEXT = new RegExp(`^/admin(/[a-z]+(/${ID.user})?)?(\\?[\\w=&%.+-]*)?$`);

/** Where to go after sign-in: `next` when it is one of the dashboard's pages. */
function safeNext(next: string | undefined): string {
  return next && NEXT.test(next) ? next : "/admin";
}

/** Checks the code; a right one sets the session cookie and goes on to `?next=`. */
export const verifyPage = new Hono<AppEnv>()
  .post("/login/verify", limitBody, async (c) => {
    const ctx = c.get("ctx");
    const form = await formOf(c);
    const requestId = String(form.request_id ?? "").slice(0, 64);
    const sentTo = String(form.sent_to ?? "").slice(0, 254);
    const channel = String(form.channel ?? "sms").slice(0, 16);
    const code = String(form.code ?? "").replace(/[\s-]/g, "").slice(0, 16);
    const again = (message: string, status: number) =>
      page(
        c,
        <CodePage requestId={requestId} sentTo={sentTo} channel={channel} error={message} />,
        { title: "Enter your code", status },
      );
    if (!/^\d{4,10}$/.test(code)) return again("Enter the digits of the code.", 400);
    try {
      const signIn = await signInToDashboard(ctx, {
        requestId,
        code,
        ip: c.get("ip"),
        userAgent: c.req.header("user-agent") ?? null,
      });
      if (!signIn.admin) {
        return page(c, <NotAdminPage dev={inDevelopment(c)} />, {
          title: "Admins only",
          status: 403,
        });
      }
      setSessionCookie(c, signIn.sessionToken);
      return c.redirect(safeNext(c.req.query("next")), 303);
    } catch (error) {
      // Not an error page: the form again with what went wrong, or the first step when this
      // code can no longer work.
      if (!(error instanceof AppError)) throw error;
      if (error.code === "TOO_MANY_ATTEMPTS" || error.code === "ACCOUNT_DISABLED") {
        return page(c, <LoginPage error={error.message} />, {
          title: "Sign in",
          status: error.status,
        });
      }
      return again(error.message, error.status);
    }
  });
