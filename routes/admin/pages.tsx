import { type Context, Hono } from "hono";
import { listAdminUsers } from "../../core/admin/users.ts";
import { listAdminDeliveries } from "../../core/admin/deliveries.ts";
import { readFraud } from "../../core/admin/fraud.ts";
import { readAdminStats } from "../../core/admin/stats.ts";
import { requestCode } from "../../core/auth/otp.ts";
import {
  type ContactRecipient,
  normalizeEmail,
  normalizePhone,
} from "../../core/auth/recipients.ts";
import type { Caller } from "../../core/auth/sessions.ts";
import {
  authenticateWebSession,
  closeWebSession,
  signInToDashboard,
  WEB_SESSION_TTL_MS,
} from "../../core/auth/web_sessions.ts";
import {
  AUTOBLOCK_MIN_SENT,
  AUTOBLOCK_MIN_VERIFIED_SHARE,
} from "../../core/delivery/sms_protection.ts";
import { AppError, clientError } from "../../core/errors.ts";
import { recentEvents } from "../../core/live/stream.ts";
import { SETTING_RANGES } from "../../core/settings.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import { limitBody, SESSION_COOKIE, sessionCookie } from "../../web/middleware.ts";
import { page } from "../_app.tsx";
import { csrfGuard, pageSecurity } from "../../web/security.ts";
import DeliveryLog, { type DeliveryFilters } from "../../islands/DeliveryLog.tsx";
import EventFeed from "../../islands/EventFeed.tsx";
import FraudPanel from "../../islands/FraudPanel.tsx";
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
  if (!token) {
    const { pathname, search } = new URL(c.req.url);
    return c.redirect(`/admin/login?next=${encodeURIComponent(pathname + search)}`, 303);
  }
  try {
    const caller = await authenticateWebSession(c.var.ctx, token);
    if (caller.user.role !== "admin") {
      return page(c, <NotAdminPage />, { title: "Admins only", status: 403 });
    }
    return caller;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    setSessionCookie(c, null);
    return c.redirect("/admin/login", 303);
  }
}

/** The posted form; a body that is no form reads as an empty one (the page asks again). */
async function formOf(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  try {
    return await c.req.parseBody();
  } catch {
    return {};
  }
}

function nameOf(caller: Caller): string {
  return caller.user.email ?? caller.user.phone ?? caller.user.id;
}

function safeNext(next: string | undefined): string {
  return next && /^\/admin(\/[a-z]*)?(\?[\w=&%.+-]*)?$/.test(next) ? next : "/admin";
}

/** The deliveries page's filters from its query string; anything else is left out. */
function deliveryFiltersOf(query: Record<string, string>): DeliveryFilters {
  const filters: DeliveryFilters = {};
  if (["sms", "telegram", "email"].includes(query.channel)) {
    filters.channel = query.channel as DeliveryFilters["channel"];
  }
  if (["sent", "delivered", "failed", "refused"].includes(query.status)) {
    filters.status = query.status as DeliveryFilters["status"];
  }
  if (/^[A-Za-z0-9_=-]{1,1024}$/.test(query.cursor ?? "")) filters.cursor = query.cursor;
  return filters;
}

/** The dashboard: sign-in, overview, users, events, deliveries, fraud, settings. */
export const adminPages = new Hono<AppEnv>()
  .use(pageSecurity, csrfGuard)
  .get("/login", (c) => page(c, <LoginPage />, { title: "Sign in" }))
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
      const sent = await requestCode(c.var.ctx, {
        recipient,
        channel: recipient.kind === "email" ? "email" : "auto",
        ip: c.var.ip,
      });
      return page(
        c,
        <CodePage requestId={sent.request_id} sentTo={recipient.value} channel={sent.channel} />,
        { title: "Enter your code" },
      );
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return page(c, <LoginPage recipient={input} error={error.message} />, {
        title: "Sign in",
        status: error.status,
      });
    }
  })
  .post("/login/verify", limitBody, async (c) => {
    const ctx = c.var.ctx;
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
      const signIn = await signInToDashboard(ctx, { requestId, code, ip: c.var.ip });
      if (!signIn.admin) return page(c, <NotAdminPage />, { title: "Admins only", status: 403 });
      setSessionCookie(c, signIn.sessionToken);
      return c.redirect(safeNext(c.req.query("next")), 303);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === "TOO_MANY_ATTEMPTS" || error.code === "ACCOUNT_DISABLED") {
        return page(c, <LoginPage error={error.message} />, {
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
    return page(
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
    return page(
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
  .get("/deliveries", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const filters = deliveryFiltersOf(c.req.query());
    const first = { limit: 50, channel: filters.channel, status: filters.status };
    const initial = await listAdminDeliveries(c.var.ctx, { ...first, cursor: filters.cursor })
      .catch((error) => {
        // A stale or foreign cursor: start from the newest instead of failing the page.
        if (!clientError(error)) throw error;
        delete filters.cursor;
        return listAdminDeliveries(c.var.ctx, first);
      });
    return page(
      c,
      <Layout path="/admin/deliveries" admin={nameOf(caller)} title="Deliveries">
        <p class="lead muted">
          Every attempt to deliver a code, on every channel and provider, for 7 days. Never the code
          itself.
        </p>
        <Island name="DeliveryLog" component={DeliveryLog} props={{ initial, filters }} />
      </Layout>,
      { title: "Deliveries" },
    );
  })
  .get("/fraud", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const ctx = c.var.ctx;
    const initial = await readFraud(ctx);
    const protection = ctx.config.smsProtection;
    const rules = {
      autoblock: protection.prefixAutoblock,
      minSent: AUTOBLOCK_MIN_SENT,
      minUsedPercent: Math.round(AUTOBLOCK_MIN_VERIFIED_SHARE * 100),
      prefixLimitPerHour: protection.prefixLimitPerHour,
      allowedCountries: protection.allowedCountries,
    };
    return page(
      c,
      <Layout path="/admin/fraud" admin={nameOf(caller)} title="Fraud">
        <p class="lead muted">
          SMS pumping protection: what SMS cost today, and the number ranges refused for now.
        </p>
        <Island name="FraudPanel" component={FraudPanel} props={{ initial, rules }} />
      </Layout>,
      { title: "Fraud" },
    );
  })
  .get("/events", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const initial = await recentEvents(c.var.ctx, 100);
    return page(
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
    return page(
      c,
      <Layout path="/admin/settings" admin={nameOf(caller)} title="Settings">
        <p class="lead muted">Changes take effect at once, on every instance within a second.</p>
        <Island name="SettingsForm" component={SettingsForm} props={{ settings, specs }} />
      </Layout>,
      { title: "Settings" },
    );
  });
