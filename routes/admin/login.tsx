/** `/admin/login`: who are you (a phone or an email), then a code is sent. */
import { Hono } from "hono";
import { requestCode } from "../../core/auth/otp.ts";
import {
  type ContactRecipient,
  normalizeEmail,
  normalizePhone,
} from "../../core/auth/recipients.ts";
import { AppError } from "../../core/errors.ts";
import type { AppEnv } from "../../web/env.ts";
import { limitBody, sessionCookie } from "../../web/middleware.ts";
import { authenticateDashboardSession } from "../../core/auth/dashboard_sessions.ts";
import { CodePage, LoginPage } from "../../components/LoginPages.tsx";
import { page } from "../_app.tsx";
import { formOf, inDevelopment } from "./_page.tsx";

/** The sign-in form, and sending its code. */
export const loginPage = new Hono<AppEnv>()
  .get("/login", async (c) => {
    // A signed-in admin has nothing to do here.
    const token = sessionCookie(c.req.header("cookie"));
    const caller = token
      ? await authenticateDashboardSession(c.get("ctx"), token).catch(() => null)
      : null;
    if (caller?.user.role === "admin") return c.redirect("/admin", 303);
    return page(c, <LoginPage dev={inDevelopment(c)} />, { title: "Sign in" });
  })
  .post("/login", limitBody, async (c) => {
    const form = await formOf(c);
    const input = String(form.recipient ?? "").trim().slice(0, 254);
    const recipient: ContactRecipient | null = input.includes("@")
      ? (normalizeEmail(input) ? { kind: "email", value: normalizeEmail(input)! } : null)
      : (normalizePhone(input) ? { kind: "phone", value: normalizePhone(input)! } : null);
    if (!recipient) {
      return page(
        c,
        <LoginPage
          recipient={input}
          error="Enter a phone number with its country code (+1…) or an email address."
        />,
        { title: "Sign in", status: 400 },
      );
    }
    try {
      const sent = await requestCode(c.get("ctx"), {
        recipient,
        channel: recipient.kind === "email" ? "email" : "auto",
        ip: c.get("ip"),
      });
      return page(
        c,
        <CodePage requestId={sent.request_id} sentTo={recipient.value} channel={sent.channel} />,
        { title: "Enter your code" },
      );
    } catch (error) {
      // Not an error page: the form again, filled in, with what to do (wait, use another).
      if (!(error instanceof AppError)) throw error;
      return page(c, <LoginPage recipient={input} error={error.message} />, {
        title: "Sign in",
        status: error.status,
      });
    }
  });
