/**
 * The dashboard's `onError`: what a page throws becomes an HTML page with the error's status
 * (the API's errors stay JSON, from `app.onError`), so page handlers never catch to answer.
 */
import type { Context } from "hono";
import type { Caller } from "../../core/auth/sessions.ts";
import type { ErrorCode } from "../../core/errors.ts";
import type { AppEnv } from "../../web/env.ts";
import { reportError } from "../../web/errors.ts";
import { NAV, Plain } from "../../components/Layout.tsx";
import { page } from "../_app.tsx";
import { adminPage } from "./_page.tsx";

/** Headings of the errors a page can meet; any other says "This did not work". */
const HEADINGS: Partial<Record<ErrorCode, string>> = {
  NOT_FOUND: "Page not found",
  FORBIDDEN: "Not allowed",
  RATE_LIMITED: "Too many requests",
  PAYLOAD_TOO_LARGE: "Too much sent",
  INTERNAL: "Something went wrong",
};

/** The section a path is in (`/admin/users/usr_…` is in Users), if any. */
function sectionOf(path: string): (typeof NAV)[number] | undefined {
  return NAV.filter((item) => path === item.href || path.startsWith(`${item.href}/`))
    .sort((a, b) => b.href.length - a.href.length)[0];
}

/**
 * Renders anything a dashboard route threw: in the frame when an admin is signed in (a missing
 * user under Users reads "No such user", with the way back), else on the plain card.
 */
export function pageError(error: Error, c: Context<AppEnv>): Response {
  const appError = reportError(error, c);
  const section = sectionOf(c.req.path);
  const below = section && c.req.path !== section.href ? section : undefined;
  const title = appError.code === "NOT_FOUND" && below?.item
    ? `No such ${below.item}`
    : HEADINGS[appError.code] ?? "This did not work";
  const body = (
    <div class="empty-state" data-testid="page-error">
      <p>{appError.message}</p>
      {appError.code === "INTERNAL" && (
        <p class="muted small">
          Request id <span class="mono">{c.get("requestId")}</span>
        </p>
      )}
      <p>
        <a href={section?.href ?? "/admin"}>Back to {section?.label ?? "the dashboard"}</a>
      </p>
    </div>
  );
  // Set by `adminOnly` once it let the request in: before that, nobody to show the frame to.
  const caller = c.get("caller") as Caller | undefined;
  if (caller?.user.role === "admin") {
    const back = below && { href: below.href, label: below.label };
    return adminPage(c, { title, path: section?.href ?? "", back, status: appError.status }, body);
  }
  return page(
    c,
    <Plain>
      <h1>{title}</h1>
      {body}
    </Plain>,
    { title, status: appError.status },
  );
}
