import { Hono } from "hono";
import { z } from "zod";
import {
  MAX_PRESENCE_CONTACTS,
  readPresenceContacts,
  setPresenceContacts,
  setPresenceVisibility,
} from "../../../core/presence/privacy.ts";
import { publicUser } from "../../../core/users.ts";
import type { AppEnv } from "../../../web/env.ts";
import { jsonBody, requireUser } from "../../../web/middleware.ts";

/** `PATCH /api/v1/me` body: what a user may change about themselves here. */
export const mePatchSchema = z.object({
  presence_visibility: z.enum(["everyone", "contacts", "nobody"]),
}).strict();

/** A user id as Doorman makes them (`usr_` and a ULID): ids of any other shape name nobody. */
const USER_ID = /^usr_[0-9A-Za-z]{26}$/;

/**
 * `PUT …/presence-contacts` body: at most 1,000 user ids (duplicates are dropped). Ids nobody
 * has are accepted, so the answer tells nothing about who exists.
 */
export const presenceContactsSchema = z.object({
  user_ids: z.array(z.string().regex(USER_ID, "must be a user id (usr_…)"))
    .max(MAX_PRESENCE_CONTACTS),
}).strict();

/** A body of 1,001 ids still gets its 400, not a 413. */
export const PRESENCE_CONTACTS_MAX_BYTES = 64 * 1024;

/** Who sees the signed-in user: `PATCH /api/v1/me`, `GET`/`PUT /api/v1/me/presence-contacts`. */
export const mePrivacyRoutes = new Hono<AppEnv>()
  .patch("/", requireUser, ...jsonBody(mePatchSchema), async (c) => {
    const { presence_visibility } = c.req.valid("json");
    const user = await setPresenceVisibility(
      c.get("ctx"),
      c.get("caller").user.id,
      presence_visibility,
    );
    return c.json({ user: publicUser(user) }, 200);
  })
  .get("/presence-contacts", requireUser, async (c) => {
    const userIds = await readPresenceContacts(c.get("ctx"), c.get("caller").user.id);
    return c.json({ user_ids: userIds }, 200);
  })
  .put(
    "/presence-contacts",
    requireUser,
    ...jsonBody(presenceContactsSchema, { maxBytes: PRESENCE_CONTACTS_MAX_BYTES }),
    async (c) => {
      const { user_ids } = c.req.valid("json");
      const saved = await setPresenceContacts(c.get("ctx"), c.get("caller").user.id, user_ids);
      return c.json({ user_ids: saved }, 200);
    },
  );
