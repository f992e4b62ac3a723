import { Hono } from "hono";
import { z } from "zod";
import { heartbeat, presenceOf } from "../../../core/presence/presence.ts";
import type { AppEnv } from "../../../web/env.ts";
import { query, requireUser } from "../../../web/middleware.ts";

/** `?user_ids=usr_a,usr_b`: 1 to 100 distinct ids. */
export const presenceQuerySchema = z.object({
  user_ids: z.string().max(100 * 65).transform((s) => [
    ...new Set(s.split(",").map((id) => id.trim()).filter((id) => id.length > 0)),
  ]).pipe(
    // One check of the whole list: a hundred schemas of one regex each cost more than the
    // lookups they guard.
    z.array(z.string()).min(1).max(100).refine((ids) => ids.every((id) => USER_ID.test(id)), {
      message: "must be user ids",
    }),
  ),
});

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Presence: heartbeats and bulk status. The WebSocket lives in presence_ws.ts. */
export const presenceRoutes = new Hono<AppEnv>()
  .post("/heartbeat", requireUser, async (c) => {
    return c.json(await heartbeat(c.var.ctx, c.var.caller.user.id), 200);
  })
  .get("/", requireUser, query(presenceQuerySchema), async (c) => {
    const users = await presenceOf(c.var.ctx, c.req.valid("query").user_ids);
    return c.json({ users }, 200);
  });
