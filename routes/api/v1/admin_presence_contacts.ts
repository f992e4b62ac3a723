import { Hono } from "hono";
import { actorOf } from "../../../core/auth/access.ts";
import { setPresenceContacts } from "../../../core/presence/privacy.ts";
import type { AppEnv } from "../../../web/env.ts";
import { jsonBody, scope } from "../../../web/middleware.ts";
import { ID } from "../../_validation.ts";
import { PRESENCE_CONTACTS_MAX_BYTES, presenceContactsSchema } from "./me_privacy.ts";

/**
 * `PUT /api/v1/admin/users/:id/presence-contacts`: an app's backend (a `contacts:write` key)
 * or an admin sets any user's presence contacts; audited (`user.presence_contacts`).
 */
export const adminPresenceContactsRoutes = new Hono<AppEnv>()
  .put(
    `/:id{${ID.user}}/presence-contacts`,
    scope("contacts:write"),
    ...jsonBody(presenceContactsSchema, { maxBytes: PRESENCE_CONTACTS_MAX_BYTES }),
    async (c) => {
      const { ctx, access, ip } = c.var;
      const saved = await setPresenceContacts(
        ctx,
        c.req.param("id"),
        c.req.valid("json").user_ids,
        actorOf(access, ip),
      );
      return c.json({ user_ids: saved }, 200);
    },
  );
