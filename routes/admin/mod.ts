/**
 * The dashboard, mounted at `/admin`: one file per page, named after its URL
 * (`users.tsx` is `/admin/users`, `users/[id].tsx` is `/admin/users/:id`, `index.tsx` is
 * `/admin`); `_`-files are no page (the guard, the error page, shared helpers).
 */
import { Hono } from "hono";
import { AppError } from "../../core/errors.ts";
import type { AppEnv } from "../../web/env.ts";
import { csrfGuard, pageSecurity } from "../../web/security.ts";
import { pageError } from "./_error.tsx";
import { adminOnly } from "./_middleware.tsx";
import { apiKeysPage } from "./api_keys.tsx";
import { auditPage } from "./audit.tsx";
import { deliveriesPage } from "./deliveries.tsx";
import { demoPage } from "./demo.tsx";
import { eventsPage } from "./events.tsx";
import { fraudPage } from "./fraud.tsx";
import { overviewPage } from "./index.tsx";
import { loginPage } from "./login.tsx";
import { verifyPage } from "./login/verify.tsx";
import { logoutPage } from "./logout.ts";
import { settingsPage } from "./settings.tsx";
import { signingKeysPage } from "./signing_keys.tsx";
import { usersPage } from "./users.tsx";
import { userPage } from "./users/[id].tsx";

/**
 * Signing in and out is open to anyone; every route registered after `adminOnly` needs a
 * signed-in admin (Hono runs matching handlers in the order they were added, and the open
 * pages answer before the guard is reached). What a page throws is an HTML error page.
 */
export const adminPages = new Hono<AppEnv>()
  .use(pageSecurity, csrfGuard)
  .route("/", loginPage)
  .route("/", verifyPage)
  .route("/", demoPage)
  .route("/", logoutPage)
  .use(adminOnly)
  .route("/", overviewPage)
  .route("/", usersPage)
  .route("/", userPage)
  .route("/", eventsPage)
  .route("/", auditPage)
  .route("/", deliveriesPage)
  .route("/", fraudPage)
  .route("/", settingsPage)
  .route("/", apiKeysPage)
  .route("/", signingKeysPage)
  .all("*", (c) => {
    throw new AppError("NOT_FOUND", `No page at ${c.req.path.slice(0, 200)}.`);
  })
  .onError(pageError);
