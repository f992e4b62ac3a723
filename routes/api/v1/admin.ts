import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import type { Context } from "hono";
import { listAdminAudit } from "../../../core/admin/audit.ts";
import { readAdminConfig } from "../../../core/admin/config.ts";
import { changeSettings, readSettings, resetSetting } from "../../../core/admin/settings.ts";
import { listAdminDeliveries } from "../../../core/admin/deliveries.ts";
import { eventsCsv, usersCsv } from "../../../core/admin/export.ts";
import { liftBlock, readFraud } from "../../../core/admin/fraud.ts";
import { readAdminStats, STATS_RANGES } from "../../../core/admin/stats.ts";
import { endUserSessions, readAdminUser } from "../../../core/admin/user_detail.ts";
import { listAdminUsers, updateUser } from "../../../core/admin/users.ts";
import { eraseUserByAdmin } from "../../../core/account/erase.ts";
import { exportAccount } from "../../../core/account/export.ts";
import { readWebhookStatus } from "../../../core/admin/event_webhooks.ts";
import {
  activateSigningKey,
  createSigningKey,
  listSigningKeys,
  revokeSigningKey,
} from "../../../core/admin/signing_keys.ts";
import type { LiveEvent } from "../../../core/live/events.ts";
import { AppError } from "../../../core/errors.ts";
import { liveEvents } from "../../../core/live/stream.ts";
import { settingsPatchSchema } from "../../../core/settings.ts";
import type { AppEnv } from "../../../web/env.ts";
import { jsonBody, query, requireAdminOrKey, scope, validQuery } from "../../../web/middleware.ts";
import { accessId, actorOf } from "../../../core/auth/access.ts";
import { apiKeyRoutes } from "./admin_api_keys.ts";
import { adminPresenceContactsRoutes } from "./admin_presence_contacts.ts";
import { ID, listQuery } from "../../_validation.ts";

/** `GET /users` query. */
export const userListSchema = z.object({
  status: z.enum(["online", "offline", "all"]).default("all"),
  q: z.string().trim().max(254).optional().transform((s) => s || undefined),
  ...listQuery,
}).strict();

/**
 * `PATCH /users/:id` body: at least one of status and role; a suspension may end by itself
 * at `suspended_until` (ahead, at most 366 days: checked against the clock in core).
 */
export const userPatchSchema = z.object({
  status: z.enum(["active", "inactive", "suspended", "banned"]).optional(),
  role: z.enum(["user", "admin"]).optional(),
  suspended_until: z.iso.datetime({ offset: true }).optional(),
}).strict().refine((patch) => patch.status !== undefined || patch.role !== undefined, {
  message: "send status, role or both",
}).refine((patch) => patch.suspended_until === undefined || patch.status === "suspended", {
  message: 'only with status "suspended"',
  path: ["suspended_until"],
});

/** `GET /deliveries` query. */
export const deliveryListSchema = z.object({
  ...listQuery,
  channel: z.enum(["sms", "telegram", "email"]).optional(),
  status: z.enum(["sent", "delivered", "failed", "refused"]).optional(),
}).strict();

/** `GET /audit` query. */
export const auditListSchema = z.object({
  ...listQuery,
}).strict();

/** `GET /stats` query: the period the numbers cover. */
export const statsQuerySchema = z.object({
  range: z.enum(Object.keys(STATS_RANGES) as [keyof typeof STATS_RANGES]).default("1h"),
}).strict();

/** Streams CSV lines as an attachment named `<name>-<date>.csv`. */
function csvAttachment(c: Context<AppEnv>, name: string, lines: AsyncGenerator<string>) {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await lines.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
  const date = new Date(c.get("ctx").clock.now()).toISOString().slice(0, 10);
  return c.body(body, 200, {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${name}-${date}.csv"`,
  });
}

/** A number range in a path: `+1646` (the `+` may come encoded, or be left out). */
const prefixSchema = z.string().trim().transform((s) => s.startsWith("+") ? s : `+${s}`)
  .pipe(z.string().regex(/^\+[1-9]\d{1,8}$/));

/** Comment lines that keep idle proxies from closing the stream. */
const SSE_KEEP_ALIVE_MS = 15_000;

/** A signing key's id: base64url, as the JWKS names it. */
const KID = "[A-Za-z0-9_-]{1,64}";

/**
 * Admin API, for an admin or a server API key (each route names the scope a key needs):
 * users (list, detail, sign-ins, status), the live event stream, the audit log, stats,
 * settings and configuration, deliveries, fraud, event webhooks, signing keys, and CSV exports.
 */
export const adminRoutes = new Hono<AppEnv>()
  .use(requireAdminOrKey)
  .route("/api-keys", apiKeyRoutes)
  .route("/users", adminPresenceContactsRoutes)
  .get("/users", scope("users:read"), query(userListSchema), async (c) => {
    const q = c.req.valid("query");
    return c.json(await listAdminUsers(c.get("ctx"), q), 200);
  })
  .get("/users.csv", scope("users:read"), (c) => csvAttachment(c, "users", usersCsv(c.get("ctx"))))
  .get(`/users/:id{${ID.user}}`, scope("users:read"), async (c) => {
    return c.json(await readAdminUser(c.get("ctx"), c.req.param("id")), 200);
  })
  .patch(
    `/users/:id{${ID.user}}`,
    scope("users:write"),
    ...jsonBody(userPatchSchema),
    async (c) => {
      const { ctx, access, ip } = c.var;
      const user = await updateUser(ctx, c.req.param("id"), {
        patch: c.req.valid("json"),
        actor: actorOf(access, ip),
      });
      return c.json({ user }, 200);
    },
  )
  .delete(`/users/:id{${ID.user}}`, scope("users:write"), async (c) => {
    const { ctx, access, ip } = c.var;
    await eraseUserByAdmin(ctx, c.req.param("id"), actorOf(access, ip));
    return c.body(null, 204);
  })
  .get(`/users/:id{${ID.user}}/export`, scope("users:read"), async (c) => {
    return c.json(await exportAccount(c.get("ctx"), c.req.param("id")), 200);
  })
  .delete(`/users/:id{${ID.user}}/sessions/:sid{${ID.family}}`, scope("users:write"), async (c) => {
    const { ctx, access, ip } = c.var;
    await endUserSessions(
      ctx,
      { userId: c.req.param("id"), familyId: c.req.param("sid") },
      actorOf(access, ip),
    );
    return c.body(null, 204);
  })
  .delete(`/users/:id{${ID.user}}/sessions`, scope("users:write"), async (c) => {
    const { ctx, access, ip } = c.var;
    await endUserSessions(ctx, { userId: c.req.param("id") }, actorOf(access, ip));
    return c.body(null, 204);
  })
  .get("/audit", scope("events:read"), query(auditListSchema), async (c) => {
    return c.json(await listAdminAudit(c.get("ctx"), c.req.valid("query")), 200);
  })
  .get(
    "/events.csv",
    scope("users:read"),
    (c) => csvAttachment(c, "events", eventsCsv(c.get("ctx"))),
  )
  .get("/events", scope("events:read"), (c) => {
    const ctx = c.get("ctx");
    const lastEventId = c.req.header("last-event-id")?.slice(0, 64);
    const release = ctx.streams.acquire(accessId(c.get("access")));
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
  // Validated here, not by `query()`: the dashboard's typed client calls it without a query.
  .get("/stats", scope("events:read"), async (c) => {
    const { range } = validQuery(c, statsQuerySchema);
    return c.json(await readAdminStats(c.get("ctx"), range), 200);
  })
  .get(
    "/settings",
    scope("settings:write"),
    async (c) => c.json(await readSettings(c.get("ctx")), 200),
  )
  .put("/settings", scope("settings:write"), ...jsonBody(settingsPatchSchema), async (c) => {
    const { ctx, access, ip } = c.var;
    return c.json(
      await changeSettings(ctx, c.req.valid("json"), actorOf(access, ip)),
      200,
    );
  })
  .delete(`/settings/:name{${ID.setting}}`, scope("settings:write"), async (c) => {
    const { ctx, access, ip } = c.var;
    return c.json(
      await resetSetting(ctx, c.req.param("name"), actorOf(access, ip)),
      200,
    );
  })
  .get(
    "/config",
    scope("settings:write"),
    async (c) => c.json(await readAdminConfig(c.get("ctx")), 200),
  )
  .get("/deliveries", scope("events:read"), query(deliveryListSchema), async (c) => {
    return c.json(await listAdminDeliveries(c.get("ctx"), c.req.valid("query")), 200);
  })
  .get("/fraud", scope("events:read"), async (c) => c.json(await readFraud(c.get("ctx")), 200))
  .get(
    "/webhooks",
    scope("events:read"),
    async (c) => c.json(await readWebhookStatus(c.get("ctx")), 200),
  )
  .get(
    "/signing-keys",
    scope("settings:write"),
    async (c) => c.json(await listSigningKeys(c.get("ctx")), 200),
  )
  .post("/signing-keys", scope("settings:write"), async (c) => {
    const { ctx, access, ip } = c.var;
    return c.json({ key: await createSigningKey(ctx, actorOf(access, ip)) }, 201);
  })
  .post(`/signing-keys/:kid{${KID}}/activate`, scope("settings:write"), async (c) => {
    const { ctx, access, ip } = c.var;
    const key = await activateSigningKey(ctx, c.req.param("kid"), actorOf(access, ip));
    return c.json({ key }, 200);
  })
  .post(`/signing-keys/:kid{${KID}}/revoke`, scope("settings:write"), async (c) => {
    const { ctx, access, ip } = c.var;
    const key = await revokeSigningKey(ctx, c.req.param("kid"), actorOf(access, ip));
    return c.json({ key }, 200);
  })
  .delete("/fraud/prefixes/:prefix", scope("settings:write"), async (c) => {
    const prefix = prefixSchema.safeParse(c.req.param("prefix"));
    if (!prefix.success) {
      throw new AppError("VALIDATION_FAILED", "A number range looks like +1646.", {
        details: [{ path: "prefix", message: "a + and 2 to 9 digits" }],
      });
    }
    const { ctx, access, ip } = c.var;
    await liftBlock(ctx, prefix.data, actorOf(access, ip));
    return c.body(null, 204);
  });

/** The admin API's routes, for the dashboard's typed client (`hc<AdminApi>`). */
export type AdminApi = typeof adminRoutes;

/** An event of `GET /events` as the stream carries it: `id`, the event name (`kind`), `data`. */
export type AdminEvent = Pick<LiveEvent, "id" | "kind" | "data">;
