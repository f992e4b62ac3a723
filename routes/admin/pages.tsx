import { type Context, Hono } from "hono";
import { listAdminUsers } from "../../core/admin/users.ts";
import { readAdminStats } from "../../core/admin/stats.ts";
import { requestCode } from "../../core/auth/otp.ts";
import { normalizeEmail, normalizePhone, type Recipient } from "../../core/auth/recipients.ts";
import { type Caller, logout } from "../../core/auth/sessions.ts";
import { verifyAccessToken } from "../../core/auth/tokens.ts";
import { verifyCode } from "../../core/auth/verify.ts";
import {
  authenticateWebSession,
  closeWebSession,
  openWebSession,
  WEB_SESSION_TTL_MS,
} from "../../core/auth/web_sessions.ts";
import { AppError } from "../../core/errors.ts";
import type { LiveEvent } from "../../core/live/events.ts";
import { SETTING_RANGES } from "../../core/settings.ts";
import type { AppEnv } from "../../core/web/env.ts";
import { Island } from "../../core/web/islands.tsx";
import { limitBody, SESSION_COOKIE, sessionCookie } from "../../core/web/middleware.ts";
import { renderPage } from "../../core/web/render.tsx";
import { csrfGuard, pageSecurity } from "../../core/web/security.ts";
import { listRecentEvents } from "../../kv/events.ts";
import EventFeed from "../../islands/EventFeed.tsx";
import LiveOverview from "../../islands/LiveOverview.tsx";
import SettingsForm, { type SettingSpec } from "../../islands/SettingsForm.tsx";
import UsersTable from "../../islands/UsersTable.tsx";
import { Layout } from "./_layout.tsx";
import { CodePage, LoginPage, NotAdminPage } from "./login.tsx";

/** What each setting means, for the settings page. */
const SETTING_TEXT: Record<keyof typeof SETTING_RANGES, [string, string, string?]> = {
  otp_length: ["Code length", "Digits in each code", "digits"],
  otp_ttl_seconds: ["Code lifetime", "How long a code works", "s"],
  otp_max_attempts: ["Attempts per code", "Wrong tries before a code burns"],
  otp_resend_cooldown_seconds: ["Resend cooldown", "Wait between codes for one recipient", "s"],
  otp_rate_limit_per_hour: ["Codes per recipient", "Per phone or email, per rolling hour"],
  otp_ip_rate_limit_per_hour: ["Codes per IP", "Per client IP, per rolling hour"],
  telegram_autodelete_seconds: ["Telegram auto-delete", "A code message deletes itself after", "s"],
  presence_timeout_seconds: ["Presence timeout", "Offline after this long without activity", "s"],
  heartbeat_interval_seconds: ["Heartbeat interval", "What clients are told to use", "s"],
};

function isSecure(c: Context<AppEnv>): boolean {
  return c.var.ctx.config.publicUrl.startsWith("https://") ||
    new URL(c.req.url).protocol === "https:";
}

function setSessionCookie(c: Context<AppEnv>, token: string | null): void {
  const secure = isSecure(c);
  const name = secure ? SESSION_COOKIE.secure : SESSION_COOKIE.local;
  const attributes = ["Path=/", "HttpOnly", "SameSite=Strict", ...(secure ? ["Secure"] : [])];
  const value = token
    ? `${name}=${token}; Max-Age=${WEB_SESSION_TTL_MS / 1000}; ${attributes.join("; ")}`
    : `${name}=; Max-Age=0; ${attributes.join("; ")}`;
  c.header("Set-Cookie", value, { append: true });
}

/** The signed-in admin, or a response to send instead (to the login page, or "admins only"). */
async function admin(c: Context<AppEnv>): Promise<Caller | Response> {
  const token = sessionCookie(c.req.header("cookie"));
  if (!token) return c.redirect(`/admin/login?next=${encodeURIComponent(c.req.path)}`, 303);
  try {
    const caller = await authenticateWebSession(c.var.ctx, token);
    if (caller.user.role !== "admin") {
      return renderPage(c, <NotAdminPage />, { title: "Admins only", status: 403 });
    }
    return caller;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    setSessionCookie(c, null);
    return c.redirect("/admin/login", 303);
  }
}

function nameOf(caller: Caller): string {
  return caller.user.email ?? caller.user.phone ?? caller.user.id;
}

function safeNext(next: string | undefined): string {
  return next && /^\/admin(\/[a-z]*)?$/.test(next) ? next : "/admin";
}

/** The dashboard: sign-in, overview, users, events, settings. */
export const adminPages = new Hono<AppEnv>()
  .use(pageSecurity, csrfGuard)
  .get("/login", (c) => renderPage(c, <LoginPage />, { title: "Sign in" }))
  .post("/login", limitBody, async (c) => {
    const form = await c.req.parseBody();
    const input = String(form.recipient ?? "").trim().slice(0, 254);
    const recipient: Recipient | null = input.includes("@")
      ? (normalizeEmail(input) ? { kind: "email", value: normalizeEmail(input)! } : null)
      : (normalizePhone(input) ? { kind: "phone", value: normalizePhone(input)! } : null);
    if (!recipient) {
      return renderPage(
        c,
        <LoginPage
          recipient={input}
          error="Enter a phone number with its country code (+1…) or an email address."
        />,
        { title: "Sign in", status: 400 },
      );
    }
    try {
      const sent = await requestCode(c.var.ctx, {
        recipient,
        channel: recipient.kind === "email" ? "email" : "auto",
        ip: c.var.ip,
      });
      return renderPage(
        c,
        <CodePage requestId={sent.request_id} sentTo={recipient.value} channel={sent.channel} />,
        { title: "Enter your code" },
      );
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return renderPage(c, <LoginPage recipient={input} error={error.message} />, {
        title: "Sign in",
        status: error.status,
      });
    }
  })
  .post("/login/verify", limitBody, async (c) => {
    const ctx = c.var.ctx;
    const form = await c.req.parseBody();
    const requestId = String(form.request_id ?? "").slice(0, 64);
    const sentTo = String(form.sent_to ?? "").slice(0, 254);
    const channel = String(form.channel ?? "sms").slice(0, 16);
    const code = String(form.code ?? "").replace(/[\s-]/g, "").slice(0, 16);
    const again = (message: string, status: number) =>
      renderPage(
        c,
        <CodePage requestId={requestId} sentTo={sentTo} channel={channel} error={message} />,
        { title: "Enter your code", status },
      );
    if (!/^\d{4,10}$/.test(code)) return again("Enter the digits of the code.", 400);
    try {
      const signIn = await verifyCode(ctx, { requestId, code });
      const claims = await verifyAccessToken(ctx.tokens, signIn.access_token, ctx.clock.now());
      if (signIn.user.role !== "admin") {
        await logout(ctx, {
          claims,
          user: { ...signIn.user, telegramId: signIn.user.telegram_id, createdAt: 0, updatedAt: 0 },
        });
        return renderPage(c, <NotAdminPage />, { title: "Admins only", status: 403 });
      }
      setSessionCookie(
        c,
        await openWebSession(ctx, { userId: signIn.user.id, familyId: claims.sid }),
      );
      return c.redirect(safeNext(c.req.query("next")), 303);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === "TOO_MANY_ATTEMPTS" || error.code === "ACCOUNT_DISABLED") {
        return renderPage(c, <LoginPage error={error.message} />, {
          title: "Sign in",
          status: error.status,
        });
      }
      return again(error.message, error.status);
    }
  })
  .post("/logout", async (c) => {
    const token = sessionCookie(c.req.header("cookie"));
    if (token) await closeWebSession(c.var.ctx, token);
    setSessionCookie(c, null);
    return c.redirect("/admin/login", 303);
  })
  .get("/", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const stats = await readAdminStats(c.var.ctx);
    return renderPage(
      c,
      <Layout path="/admin" admin={nameOf(caller)} title="Overview">
        <Island name="LiveOverview" component={LiveOverview} props={{ stats }} />
      </Layout>,
      { title: "Overview" },
    );
  })
  .get("/users", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const initial = await listAdminUsers(c.var.ctx, { status: "all", limit: 25 });
    return renderPage(
      c,
      <Layout path="/admin/users" admin={nameOf(caller)} title="Users">
        <Island
          name="UsersTable"
          component={UsersTable}
          props={{ initial, self: caller.user.id }}
        />
      </Layout>,
      { title: "Users" },
    );
  })
  .get("/events", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const initial = (await listRecentEvents(c.var.ctx.kv, 100)) as LiveEvent[];
    return renderPage(
      c,
      <Layout path="/admin/events" admin={nameOf(caller)} title="Events">
        <Island name="EventFeed" component={EventFeed} props={{ initial }} />
      </Layout>,
      { title: "Events" },
    );
  })
  .get("/settings", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const settings = await c.var.ctx.settings.get();
    const specs: SettingSpec[] = Object.entries(SETTING_RANGES).map(([name, range]) => {
      const [label, help, unit] = SETTING_TEXT[name as keyof typeof SETTING_RANGES];
      return { name, label, help, unit, min: range.min, max: range.max };
    });
    return renderPage(
      c,
      <Layout path="/admin/settings" admin={nameOf(caller)} title="Settings">
        <p class="muted">Changes take effect at once, on every instance within a second.</p>
        <Island name="SettingsForm" component={SettingsForm} props={{ settings, specs }} />
      </Layout>,
      { title: "Settings" },
    );
  });
