/** `/admin/audit`: every change an admin made, newest first, 50 at a time. */
import { Hono } from "hono";
import { listAdminAudit } from "../../core/admin/audit.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import AuditLog from "../../islands/AuditLog.tsx";
import { pageCursor, readFromCursor } from "../_validation.ts";
import { adminPage } from "./_page.tsx";

/** The log from `?cursor=` ("Load older" keeps it in the URL); a stale one starts over. */
export const auditPage = new Hono<AppEnv>()
  .get("/audit", async (c) => {
    const { page: initial, cursor } = await readFromCursor(
      (cursor) => listAdminAudit(c.get("ctx"), { limit: 50, cursor }),
      pageCursor(c.req.query("cursor")),
    );
    return adminPage(
      c,
      { title: "Audit", path: "/admin/audit" },
      <Island name="AuditLog" component={AuditLog} props={{ initial, cursor }} />,
    );
  });
