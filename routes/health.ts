import { Hono } from "hono";
import { VERSION } from "../core/version.ts";
import type { AppEnv } from "../core/web/env.ts";
import { checkKv } from "../kv/health.ts";

/** `GET /health`: liveness, answered without touching anything. */
export const livenessRoutes = new Hono<AppEnv>()
  .get("/", (c) => c.json({ status: "ok" }));

/** `GET /api/v1/health`: readiness with KV and channel health. */
export const healthRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const ctx = c.var.ctx;
    const kvOk = await checkKv(ctx.kv);
    const channels = ctx.delivery.health();
    const configured = Object.values(channels).filter((channel) => channel.configured);
    const status = !kvOk
      ? "down"
      : configured.length === 0 || configured.some((channel) => !channel.ok)
      ? "degraded"
      : "ok";
    return c.json(
      { status, kv: kvOk ? "ok" : "down", version: VERSION, channels },
      kvOk ? 200 : 503,
    );
  });
