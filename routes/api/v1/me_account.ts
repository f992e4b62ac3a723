import { Hono } from "hono";
import { eraseOwnAccount } from "../../../core/account/erase.ts";
import { exportAccount } from "../../../core/account/export.ts";
import type { AppEnv } from "../../../web/env.ts";
import { requireUser } from "../../../web/middleware.ts";

/**
 * The caller's own account: `DELETE /api/v1/me` erases it (a session opened by a code in the
 * last 10 minutes only), `GET /api/v1/me/export` hands over everything kept about them.
 */
export const meAccountRoutes = new Hono<AppEnv>()
  .delete("/", requireUser, async (c) => {
    await eraseOwnAccount(c.get("ctx"), c.get("caller"));
    return c.body(null, 204);
  })
  .get("/export", requireUser, async (c) => {
    return c.json(await exportAccount(c.get("ctx"), c.get("caller").user.id), 200);
  });
