import { Hono } from "hono";
import { AppError } from "../../../core/errors.ts";
import type { AppEnv } from "../../../web/env.ts";

/** `GET /api/v1/presence/ws`: the presence WebSocket (protocol in core/presence/hub.ts). */
export const presenceSocketRoutes = new Hono<AppEnv>()
  .get("/", (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new AppError("VALIDATION_FAILED", "Open this URL as a WebSocket.", {
        details: [{ path: "(headers)", message: "Upgrade: websocket expected" }],
      });
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    c.var.ctx.presence.hub.accept(socket, { ip: c.var.ip });
    return response;
  });
