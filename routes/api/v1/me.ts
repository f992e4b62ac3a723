import { Hono } from "hono";
import { publicUser } from "../../../core/users.ts";
import type { AppEnv } from "../../../web/env.ts";
import { requireUser } from "../../../web/middleware.ts";
import { meAccountRoutes } from "./me_account.ts";

/** `GET /api/v1/me`: the signed-in user. */
export const meRoutes = new Hono<AppEnv>()
  .get("/", requireUser, (c) => c.json({ user: publicUser(c.get("caller").user) }))
  .route("/", meAccountRoutes);
