import { Hono } from "hono";
import { AppError } from "../../../core/errors.ts";
import type { AppEnv } from "../../../web/env.ts";

/** `GET /api/v1/presence/ws`: the presence WebSocket (protocol in core/presence/hub.ts). */
export const presenceSocketRoutes = new Hono<AppEnv>()
  .get("/", (c) => {
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    } catch (error) {
      // A handshake without `Upgrade: websocket`, `Connection: Upgrade` or a key.
      throw new AppError("VALIDATION_FAILED", "Open this URL as a WebSocket.", {
        details: [{
          path: "(headers)",
          message: error instanceof TypeError
            ? error.message.replace(/^Invalid Header: /, "")
            : "a WebSocket handshake expected",
        }],
      });
    }
    c.get("ctx").presence.hub.accept(upgraded.socket, { ip: c.get("ip") });
    return upgraded.response;
  });
