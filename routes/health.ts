import { Hono } from "hono";
import { readiness } from "../core/operations.ts";
import type { AppEnv } from "../web/env.ts";

/** `GET /health`: liveness, answered without touching anything. */
export const livenessRoutes = new Hono<AppEnv>()
  .get("/", (c) => c.json({ status: "ok" }));

/** `GET /api/v1/health`: readiness with KV and channel health. */
export const healthRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const ready = await readiness(c.get("ctx"));
    return c.json(ready, ready.kv === "ok" ? 200 : 503);
  });
