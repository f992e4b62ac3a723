import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { changeSettings, readSettings } from "../../../core/admin/settings.ts";
import { readAdminStats } from "../../../core/admin/stats.ts";
import { listAdminUsers, updateUser } from "../../../core/admin/users.ts";
import type { LiveEvent } from "../../../core/live/events.ts";
import { settingsPatchSchema } from "../../../core/settings.ts";
import type { AppEnv } from "../../../core/web/env.ts";
import { jsonBody, query, requireAdmin } from "../../../core/web/middleware.ts";
import { listEventsAfter } from "../../../kv/events.ts";

/** `GET /users` query. */
export const userListSchema = z.object({
  status: z.enum(["online", "offline", "all"]).default("all"),
  q: z.string().trim().max(254).optional().transform((s) => s || undefined),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(1024).optional().transform((s) => s || undefined),
}).strict();

/** `PATCH /users/:id` body: at least one of status and role. */
export const userPatchSchema = z.object({
  status: z.enum(["active", "inactive", "suspended", "banned"]).optional(),
  role: z.enum(["user", "admin"]).optional(),
}).strict().refine((patch) => patch.status !== undefined || patch.role !== undefined, {
  message: "send status, role or both",
});

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
    return streamSSE(c, async (stream) => {
      const queue: LiveEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = ctx.bus.subscribe((event) => {
        queue.push(event);
        wake?.();
      });
      const closed = new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        ctx.closing.addEventListener("abort", () => resolve(), { once: true });
      });
      let open = true;
      closed.then(() => {
        open = false;
        wake?.();
      });
      const sent = new Set<string>();
      const write = async (event: LiveEvent) => {
        if (sent.has(event.id)) return;
        sent.add(event.id);
        await stream.writeSSE({
          id: event.id,
          event: event.kind,
          data: JSON.stringify(event.data),
        });
      };
      try {
        await stream.write(": connected\n\n");
        if (lastEventId) {
          for (const event of await listEventsAfter(ctx.kv, lastEventId, 1000)) {
            await write(event as LiveEvent);
          }
        }
        while (open) {
          while (queue.length > 0 && open) await write(queue.shift()!);
          if (sent.size > 5000) sent.clear();
          const timedOut = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), SSE_KEEP_ALIVE_MS);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
          wake = null;
          if (timedOut && open) await stream.write(": keep-alive\n\n");
        }
      } catch {
        // The client went away mid-write.
      } finally {
        unsubscribe();
      }
    });
  })
  .get("/stats", async (c) => c.json(await readAdminStats(c.var.ctx), 200))
  .get("/settings", async (c) => c.json(await readSettings(c.var.ctx), 200))
  .put("/settings", ...jsonBody(settingsPatchSchema), async (c) => {
    const { ctx, caller } = c.var;
    return c.json(await changeSettings(ctx, c.req.valid("json"), { by: caller.user.id }), 200);
  });
