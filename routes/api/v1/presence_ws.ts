import { Hono } from "hono";
import { redeemSocketTicket } from "../../../core/auth/socket_tickets.ts";
import { AppError } from "../../../core/errors.ts";
import type { AppEnv } from "../../../web/env.ts";

/**
 * `GET /api/v1/presence/ws?ticket=…`: the presence WebSocket (protocol in
 * core/presence/hub.ts). The ticket is used up before the upgrade, so no socket exists that
 * was not authenticated; without a good one the answer is 401 JSON and no upgrade.
 */
export const presenceSocketRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const ticket = c.req.query("ticket");
    if (!ticket) {
      throw new AppError(
        "UNAUTHORIZED",
        "Open the socket with a ticket: POST /api/v1/presence/ws-ticket, then ?ticket=<ticket>.",
      );
    }
    // The handshake is checked before the ticket is used up (a wrong one would waste it), and
    // cannot be after: `Deno.upgradeWebSocket` commits the server to the upgrade.
    const problem = handshakeProblem(c.req.raw.headers);
    if (problem) throw notAHandshake(problem);
    const owner = await redeemSocketTicket(c.get("ctx"), ticket);
    let upgraded;
    try {
      upgraded = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    } catch (error) {
      throw notAHandshake(
        error instanceof TypeError
          ? error.message.replace(/^Invalid Header: /, "")
          : "a WebSocket handshake expected",
      );
    }
    c.get("ctx").presence.hub.accept(upgraded.socket, owner);
    return upgraded.response;
  });

/** What `Deno.upgradeWebSocket` would refuse in these headers, in its words; null if nothing. */
function handshakeProblem(headers: Headers): string | null {
  const has = (name: string, token: string) =>
    (headers.get(name) ?? "").split(",").some((v) => v.trim().toLowerCase() === token);
  if (!has("upgrade", "websocket")) return "'upgrade' header must contain 'websocket'";
  if (!has("connection", "upgrade")) return "'connection' header must contain 'Upgrade'";
  if (headers.get("sec-websocket-key") === null) return "'sec-websocket-key' header must be set";
  return null;
}

function notAHandshake(message: string): AppError {
  return new AppError("VALIDATION_FAILED", "Open this URL as a WebSocket.", {
    details: [{ path: "(headers)", message }],
  });
}
