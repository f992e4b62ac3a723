import { Hono } from "hono";
import {
  endOtherSessions,
  endOwnSession,
  listOwnSessions,
} from "../../../core/auth/session_list.ts";
import type { AppEnv } from "../../../web/env.ts";
import { requireUser } from "../../../web/middleware.ts";
import { ID } from "../../_validation.ts";

/** `/api/v1/sessions`: the caller sees and ends their own sign-ins. */
export const sessionRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get("/", async (c) => {
    return c.json({ sessions: await listOwnSessions(c.get("ctx"), c.get("caller")) }, 200);
  })
  .delete(`/:id{${ID.family}}`, async (c) => {
    await endOwnSession(c.get("ctx"), c.get("caller"), c.req.param("id"));
    return c.body(null, 204);
  })
  .delete("/", async (c) => {
    await endOtherSessions(c.get("ctx"), c.get("caller"));
    return c.body(null, 204);
  });
