import { Hono } from "hono";
import { z } from "zod";
import { actorOf } from "../../../core/auth/access.ts";
import {
  createApiKey,
  listAdminApiKeys,
  revokeApiKey,
  SCOPES,
} from "../../../core/auth/api_keys.ts";
import type { AppEnv } from "../../../web/env.ts";
import { adminSignInOnly, jsonBody, scope } from "../../../web/middleware.ts";
import { ID } from "../../_validation.ts";

/** `POST /api-keys` body: a name, one or more known scopes, and an optional expiry. */
export const apiKeyCreateSchema = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length * 2),
  expires_at: z.iso.datetime({ offset: true }).optional(),
}).strict();

/**
 * Server API keys (`/api/v1/admin/api-keys`), behind the admin API's door: only an admin's
 * own sign-in creates one; listing and revoking are `settings:write` for a key.
 */
export const apiKeyRoutes = new Hono<AppEnv>()
  .post("/", adminSignInOnly, ...jsonBody(apiKeyCreateSchema), async (c) => {
    const { ctx, caller, ip } = c.var;
    const body = c.req.valid("json");
    const created = await createApiKey(ctx, {
      name: body.name,
      scopes: body.scopes,
      expiresAt: body.expires_at === undefined ? undefined : Date.parse(body.expires_at),
    }, { userId: caller.user.id, ip });
    return c.json(created, 201);
  })
  .get("/", scope("settings:write"), async (c) => c.json(await listAdminApiKeys(c.get("ctx")), 200))
  .delete(`/:id{${ID.apiKey}}`, scope("settings:write"), async (c) => {
    const { ctx, access, ip } = c.var;
    await revokeApiKey(ctx, c.req.param("id"), actorOf(access, ip));
    return c.body(null, 204);
  });
