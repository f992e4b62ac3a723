import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { changeSettings, readSettings } from "../../../core/admin/settings.ts";
import { listAdminDeliveries } from "../../../core/admin/deliveries.ts";
import { liftBlock, readFraud } from "../../../core/admin/fraud.ts";
import { readAdminStats } from "../../../core/admin/stats.ts";
import { listAdminUsers, updateUser } from "../../../core/admin/users.ts";
import type { LiveEvent } from "../../../core/live/events.ts";
import { AppError } from "../../../core/errors.ts";
import { liveEvents } from "../../../core/live/stream.ts";
import { settingsPatchSchema } from "../../../core/settings.ts";
import type { AppEnv } from "../../../web/env.ts";
import { jsonBody, query, requireAdmin } from "../../../web/middleware.ts";

// KV cursors are base64url: anything else cannot be one (and must not reach KV).
const cursorSchema = z.string().max(1024).regex(
  /^[A-Za-z0-9_=-]*$/,
  "not a cursor this list gave out",
)
  .optional().transform((s) => s || undefined);

/** `GET /users` query. */
export const userListSchema = z.object({
  status: z.enum(["online", "offline", "all"]).default("all"),
  q: z.string().trim().max(254).optional().transform((s) => s || undefined),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  // KV cursors are base64url: anything else cannot be one (and must not reach KV).
  cursor: cursorSchema,
}).strict();

/** `PATCH /users/:id` body: at least one of status and role. */
export const userPatchSchema = z.object({
  status: z.enum(["active", "inactive", "suspended", "banned"]).optional(),
  role: z.enum(["user", "admin"]).optional(),
}).strict().refine((patch) => patch.status !== undefined || patch.role !== undefined, {
  message: "send status, role or both",
});

/** `GET /deliveries` query. */
export const deliveryListSchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: cursorSchema,
  channel: z.enum(["sms", "telegram", "email"]).optional(),
  status: z.enum(["sent", "delivered", "failed", "refused"]).optional(),
}).strict();

/** A number range in a path: `+1646` (the `+` may come encoded, or be left out). */
const prefixSchema = z.string().trim().transform((s) => s.startsWith("+") ? s : `+${s}`)
  .pipe(z.string().regex(/^\+[1-9]\d{1,8}$/));

/** Comment lines that keep idle proxies from closing the stream. */
const SSE_KEEP_ALIVE_MS = 15_000;

/** Admin API: users, account status, the live event stream, stats and settings. */
export const adminRoutes = new Hono<AppEnv>()
  .use(requireAdmin)
  .get("/users", query(userListSchema), async (c) => {
    const q = c.req.valid("query");
    return c.json(await listAdminUsers(c.var.ctx, q), 200);
  })
  .patch(
    "/users/:id{[A-Za-z0-9_-]{1,64}}",
    ...jsonBody(userPatchSchema),
    async (c) => {
      const user = await updateUser(c.var.ctx, c.req.param("id"), c.req.valid("json"));
      return c.json({ user }, 200);
    },
  )
  .get("/events", (c) => {
    const ctx = c.var.ctx;
    const lastEventId = c.req.header("last-event-id")?.slice(0, 64);
    const release = ctx.streams.acquire(c.var.caller.user.id);
    if (!release) {
      throw new AppError("RATE_LIMITED", "Too many open event streams. Close one first.", {
        retry_after: 5,
      });
    }
    return streamSSE(c, async (stream) => {
      // The stream ends when the client goes or the server shuts down.
      const ended = new AbortController();
      stream.onAbort(() => ended.abort());
      const stop = () => ended.abort();
      ctx.closing.addEventListener("abort", stop, { once: true });
      try {
        await stream.write(": connected\n\n");
        const items = liveEvents(ctx, {
          lastEventId,
          signal: ended.signal,
          idleMs: SSE_KEEP_ALIVE_MS,
        });
        for await (const item of items) {
          if ("idle" in item) await stream.write(": keep-alive\n\n");
          else {
            await stream.writeSSE({
              id: item.event.id,
              event: item.event.kind,
              data: JSON.stringify(item.event.data),
            });
          }
        }
      } catch {
        // The client went away mid-write.
      } finally {
        ctx.closing.removeEventListener("abort", stop);
        release();
      }
    });
  })
  .get("/stats", async (c) => c.json(await readAdminStats(c.var.ctx), 200))
  .get("/settings", async (c) => c.json(await readSettings(c.var.ctx), 200))
  .put("/settings", ...jsonBody(settingsPatchSchema), async (c) => {
    const { ctx, caller } = c.var;
    return c.json(await changeSettings(ctx, c.req.valid("json"), { by: caller.user.id }), 200);
  })
  .get("/deliveries", query(deliveryListSchema), async (c) => {
    return c.json(await listAdminDeliveries(c.var.ctx, c.req.valid("query")), 200);
  })
  .get("/fraud", async (c) => c.json(await readFraud(c.var.ctx), 200))
  .delete("/fraud/prefixes/:prefix", async (c) => {
    const prefix = prefixSchema.safeParse(c.req.param("prefix"));
    if (!prefix.success) {
      throw new AppError("VALIDATION_FAILED", "A number range looks like +1646.", {
        details: [{ path: "prefix", message: "a + and 2 to 9 digits" }],
      });
    }
    const { ctx, caller, ip } = c.var;
    await liftBlock(ctx, prefix.data, { userId: caller.user.id, ip });
    return c.body(null, 204);
  });

/** The admin API's routes, for the dashboard's typed client (`hc<AdminApi>`). */
export type AdminApi = typeof adminRoutes;

/** An event of `GET /events` as the stream carries it: `id`, the event name (`kind`), `data`. */
export type AdminEvent = Pick<LiveEvent, "id" | "kind" | "data">;
