import { type Context, Hono } from "hono";
import { listAdminAudit } from "../../core/admin/audit.ts";
import { readAdminConfig } from "../../core/admin/config.ts";
import { readAdminUser } from "../../core/admin/user_detail.ts";
import { listAdminUsers } from "../../core/admin/users.ts";
import { readWebhookStatus } from "../../core/admin/webhooks.ts";
import { listAdminDeliveries } from "../../core/admin/deliveries.ts";
import { readFraud } from "../../core/admin/fraud.ts";
import { readAdminStats, STATS_RANGES, type StatsRange } from "../../core/admin/stats.ts";
import { demoLinksEnabled, redeemDemoLink } from "../../core/auth/demo_links.ts";
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
import { SETTING_RANGES, type Settings } from "../../core/settings.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import { limitBody, SESSION_COOKIE, sessionCookie } from "../../web/middleware.ts";
import { page } from "../_app.tsx";
import { csrfGuard, pageSecurity } from "../../web/security.ts";
import AuditLog from "../../islands/AuditLog.tsx";
import DeliveryLog, { type DeliveryFilters } from "../../islands/DeliveryLog.tsx";
import EventFeed from "../../islands/EventFeed.tsx";
import FraudPanel from "../../islands/FraudPanel.tsx";
import LiveOverview from "../../islands/LiveOverview.tsx";
import { RECENT_EVENTS } from "../../islands/overview/RecentActivity.tsx";
import SettingsForm, { type SettingSpec } from "../../islands/SettingsForm.tsx";
import UserDetail from "../../islands/UserDetail.tsx";
import UsersTable, { type UserFilters } from "../../islands/UsersTable.tsx";
import WebhookStatus from "../../islands/WebhookStatus.tsx";
import { userName } from "../../islands/lib/format.ts";
import { Layout } from "./_layout.tsx";
import { BootConfig } from "./boot_config.tsx";
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
  presence_offline_grace_seconds: [
    "Offline grace",
    "Online this long after the last socket closes",
    "s",
  ],
};

function isSecure(c: Context<AppEnv>): boolean {
  return c.get("ctx").config.publicUrl.startsWith("https://") ||
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
    const caller = await authenticateWebSession(c.get("ctx"), token);
    if (caller.user.role !== "admin") {
      return page(c, <NotAdminPage dev={inDevelopment(c)} />, {
        title: "Admins only",
        status: 403,
      });
    }
    return caller;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    setSessionCookie(c, null);
    return c.redirect("/admin/login", 303);
  }
}

/** Whether pages may say how to get in without an admin (development only). */
function inDevelopment(c: Context<AppEnv>): boolean {
  return c.get("ctx").config.appEnv === "development";
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

/** Where to go after sign-in: a dashboard page (a user's page too), never another site. */
function safeNext(next: string | undefined): string {
  return next && /^\/admin(\/[a-z]+(\/[\w-]{1,64})?)?(\?[\w=&%.+-]*)?$/.test(next)
    ? next
    : "/admin";
}

/** Users a page of the users list shows. */
const USERS_PAGE = 25;

/** The users page's filters from its query string; anything else is left out. */
function userFiltersOf(query: Record<string, string>): UserFilters {
  const filters: UserFilters = {};
  if (query.status === "online" || query.status === "offline") filters.status = query.status;
  const q = (query.q ?? "").trim().slice(0, 254);
  if (q) filters.q = q;
  else if (/^[A-Za-z0-9_=-]{1,1024}$/.test(query.cursor ?? "")) filters.cursor = query.cursor;
  return filters;
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
  .get("/login", async (c) => {
    // A signed-in admin has nothing to do here.
    if (sessionCookie(c.req.header("cookie")) && !((await admin(c)) instanceof Response)) {
      return c.redirect("/admin", 303);
    }
    return page(c, <LoginPage dev={inDevelopment(c)} />, { title: "Sign in" });
  })
  // The one-time link `deno task demo` prints (the token in the query: paths are logged).
  .get("/demo", async (c) => {
    const ctx = c.get("ctx");
    if (!demoLinksEnabled(ctx.config)) return c.notFound();
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
      if (!(error instanceof AppError)) throw error;
      return page(c, <LoginPage recipient={input} error={error.message} />, {
        title: "Sign in",
        status: error.status,
      });
    }
  })
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
    if (token) await closeWebSession(c.get("ctx"), token);
    setSessionCookie(c, null);
    return c.redirect("/admin/login", 303);
  })
  .get("/", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    // The period from the URL (the page keeps it there); anything else shows the last hour.
    const asked = c.req.query("range") ?? "";
    const range: StatsRange = Object.hasOwn(STATS_RANGES, asked) ? asked as StatsRange : "1h";
    const [stats, events] = await Promise.all([
      readAdminStats(c.get("ctx"), range),
      recentEvents(c.get("ctx"), RECENT_EVENTS),
    ]);
    return page(
      c,
      <Layout path="/admin" admin={nameOf(caller)} title="Overview">
        <Island name="LiveOverview" component={LiveOverview} props={{ stats, range, events }} />
      </Layout>,
      { title: "Overview" },
    );
  })
  .get("/users", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const filters = userFiltersOf(c.req.query());
    const first = { status: filters.status ?? "all", q: filters.q, limit: USERS_PAGE } as const;
    const initial = await listAdminUsers(c.get("ctx"), { ...first, cursor: filters.cursor })
      .catch((error) => {
        // A stale or foreign cursor: start from the newest instead of failing the page.
        if (!clientError(error)) throw error;
        delete filters.cursor;
        return listAdminUsers(c.get("ctx"), first);
      });
    return page(
      c,
      <Layout path="/admin/users" admin={nameOf(caller)} title="Users">
        <Island
          name="UsersTable"
          component={UsersTable}
          props={{ initial, filters, self: caller.user.id }}
        />
      </Layout>,
      { title: "Users" },
    );
  })
  .get("/users/:id", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const id = c.req.param("id");
    const detail = /^[A-Za-z0-9_-]{1,64}$/.test(id)
      ? await readAdminUser(c.get("ctx"), id).catch((error) => {
        if (clientError(error)?.code === "NOT_FOUND") return null;
        throw error;
      })
      : null;
    const back = { href: "/admin/users", label: "Users" };
    if (!detail) {
      return page(
        c,
        <Layout path="/admin/users" admin={nameOf(caller)} title="No such user" back={back}>
          <div class="empty-state" data-testid="no-user">
            <h3>There is no user with this id</h3>
            <p>
              <span class="mono">{id.slice(0, 64)}</span>{" "}
              is not the id of any user. Look for them by phone, email or id in the list.
            </p>
            <p>
              <a href="/admin/users">Back to Users</a>
            </p>
          </div>
        </Layout>,
        { title: "No such user", status: 404 },
      );
    }
    const name = userName(detail.user);
    return page(
      c,
      <Layout path="/admin/users" admin={nameOf(caller)} title={name} back={back}>
        <Island
          name="UserDetail"
          component={UserDetail}
          props={{ initial: detail, self: caller.user.id }}
        />
      </Layout>,
      { title: name },
    );
  })
  .get("/deliveries", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const filters = deliveryFiltersOf(c.req.query());
    const first = { limit: 50, channel: filters.channel, status: filters.status };
    const initial = await listAdminDeliveries(c.get("ctx"), { ...first, cursor: filters.cursor })
      .catch((error) => {
        // A stale or foreign cursor: start from the newest instead of failing the page.
        if (!clientError(error)) throw error;
        delete filters.cursor;
        return listAdminDeliveries(c.get("ctx"), first);
      });
    const webhooks = await readWebhookStatus(c.get("ctx"));
    return page(
      c,
      <Layout path="/admin/deliveries" admin={nameOf(caller)} title="Deliveries">
        <p class="lead muted">
          Every attempt to deliver a code, on every channel and provider, for 7 days. Never the code
          itself. <a href="#webhooks">Outbound webhooks</a> are at the end of the page.
        </p>
        <Island name="DeliveryLog" component={DeliveryLog} props={{ initial, filters }} />
        <Island name="WebhookStatus" component={WebhookStatus} props={{ initial: webhooks }} />
      </Layout>,
      { title: "Deliveries" },
    );
  })
  .get("/fraud", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const ctx = c.get("ctx");
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
    // "Load older" continues below an event id; one more than shown says whether there are more.
    const asked = c.req.query("before");
    const before = asked && /^[0-9A-Z]{26}$/.test(asked) ? asked : undefined;
    const read = await recentEvents(c.get("ctx"), 101, before);
    const initial = read.slice(0, 100);
    const props = { initial, before, older: read.length > 100 };
    return page(
      c,
      <Layout path="/admin/events" admin={nameOf(caller)} title="Events">
        <Island name="EventFeed" component={EventFeed} props={props} />
      </Layout>,
      { title: "Events" },
    );
  })
  .get("/audit", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    const asked = c.req.query("cursor");
    let cursor = asked && /^[A-Za-z0-9_=-]{1,1024}$/.test(asked) ? asked : undefined;
    const initial = await listAdminAudit(c.get("ctx"), { limit: 50, cursor }).catch((error) => {
      // A stale or foreign cursor: start from the newest instead of failing the page.
      if (!clientError(error)) throw error;
      cursor = undefined;
      return listAdminAudit(c.get("ctx"), { limit: 50 });
    });
    return page(
      c,
      <Layout path="/admin/audit" admin={nameOf(caller)} title="Audit">
        <Island name="AuditLog" component={AuditLog} props={{ initial, cursor }} />
      </Layout>,
      { title: "Audit" },
    );
  })
  .get("/settings", async (c) => {
    const caller = await admin(c);
    if (caller instanceof Response) return caller;
    // Read from KV now, not through the one-second cache: a reload right after a change shows it.
    const config = await readAdminConfig(c.get("ctx"));
    const names = Object.keys(SETTING_RANGES) as (keyof typeof SETTING_RANGES)[];
    const specs: SettingSpec[] = names.map((name) => {
      const [label, help, unit] = SETTING_TEXT[name];
      const { min, max } = SETTING_RANGES[name];
      return { name, label, help, unit, min, max, default: config.settings[name].default };
    });
    const settings = Object.fromEntries(names.map((name) => [name, config.settings[name].value]));
    const overridden = names.filter((name) => config.settings[name].overridden);
    return page(
      c,
      <Layout path="/admin/settings" admin={nameOf(caller)} title="Settings">
        <p class="lead muted">Changes take effect at once, on every instance within a second.</p>
        <Island
          name="SettingsForm"
          component={SettingsForm}
          props={{ settings: settings as Settings, specs, overridden }}
        />
        <BootConfig boot={config.boot} />
      </Layout>,
      { title: "Settings" },
    );
  });
