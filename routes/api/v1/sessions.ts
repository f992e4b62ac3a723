import { Hono } from "hono";
import { endOtherSignIns, endOwnSignIn, listOwnSignIns } from "../../../core/auth/sign_ins.ts";
import type { AppEnv } from "../../../web/env.ts";
import { requireUser } from "../../../web/middleware.ts";
import { ID } from "../../_validation.ts";

/** `/api/v1/sessions`: the caller sees and ends their own sign-ins. */
export const sessionRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get("/", async (c) => {
    return c.json({ sessions: await listOwnSignIns(c.get("ctx"), c.get("caller")) }, 200);
  })
  .delete(`/:id{${ID.family}}`, async (c) => {
    await endOwnSignIn(c.get("ctx"), c.get("caller"), c.req.param("id"));
    return c.body(null, 204);
  })
  .delete("/", async (c) => {
    await endOtherSignIns(c.get("ctx"), c.get("caller"));
    return c.body(null, 204);
  });
