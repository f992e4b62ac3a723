import { Hono } from "hono";
import { z } from "zod";
import { issueSocketTicket } from "../../../core/auth/socket_tickets.ts";
import { heartbeat, presenceJson, SEES_ALL, type Viewer } from "../../../core/presence/presence.ts";
import type { AppEnv } from "../../../web/env.ts";
import { requireUser, requireUserOrKey, validQuery } from "../../../web/middleware.ts";
import { isId, MAX_USER_ID_LENGTH } from "../../_validation.ts";

/** Ids one query may ask for. */
const MAX_IDS = 100;

/** `?user_ids=usr_a,usr_b`: 1 to 100 distinct ids. */
export const presenceQuerySchema = z.object({
  user_ids: z.string().max(MAX_IDS * (MAX_USER_ID_LENGTH + 1)).transform((s) => [
    ...new Set(s.split(",").map((id) => id.trim()).filter((id) => id.length > 0)),
  ]).pipe(
    // One check of the whole list: a hundred schemas of one regex each cost more than the
    // lookups they guard.
    z.array(z.string()).min(1).max(MAX_IDS).refine((ids) => ids.every((id) => isId("user", id)), {
      message: "must be user ids",
    }),
  ),
});

/** A query that is `user_ids=` and nothing but id characters and commas. */
const PLAIN_QUERY = /^user_ids=[A-Za-z0-9_,-]+$/;

/** Plain queries remembered with their ids (a query is at most 6.5 KB: 3 MB in all). */
const MAX_REMEMBERED_QUERIES = 512;
const rememberedQueries = new Map<string, readonly string[]>();

/**
 * The ids of a query of the plain shape apps send (`?user_ids=a,b,c`, nothing encoded, no
 * other parameter) when it is valid — the same list `presenceQuerySchema` gives, for a tenth
 * of its time; `null` for any other query, which the schema then judges (and explains).
 *
 * A client polls the same list again and again, so the last few hundred queries are kept with
 * their ids: splitting a hundred ids into new strings, and hashing each of them for the
 * lookups that follow, was a fifth of a presence query; a remembered list's ids are hashed
 * already. (Lists are public input, not anyone's data: who may see whom is decided after.)
 */
export function plainUserIds(url: string): readonly string[] | null {
  const at = url.indexOf("?");
  if (at < 0) return null;
  const query = url.slice(at + 1);
  if (query.length > "user_ids=".length + MAX_IDS * (MAX_USER_ID_LENGTH + 1)) return null;
  const remembered = rememberedQueries.get(query);
  if (remembered) return remembered;
  if (!PLAIN_QUERY.test(query)) return null;
  const unique = new Set<string>();
  for (const id of query.slice("user_ids=".length).split(",")) {
    if (id.length > MAX_USER_ID_LENGTH) return null;
    if (id.length > 0) unique.add(id);
  }
  if (unique.size === 0 || unique.size > MAX_IDS) return null;
  const ids = [...unique];
  if (rememberedQueries.size >= MAX_REMEMBERED_QUERIES) {
    rememberedQueries.delete(rememberedQueries.keys().next().value!);
  }
  rememberedQueries.set(query, ids);
  return ids;
}

/** Presence: heartbeats, bulk status and socket tickets. The WebSocket lives in presence_ws.ts. */
export const presenceRoutes = new Hono<AppEnv>()
  .post("/ws-ticket", requireUser, async (c) => {
    return c.json(await issueSocketTicket(c.get("ctx"), c.get("caller")), 200);
  })
  .post("/heartbeat", requireUser, async (c) => {
    return c.json(await heartbeat(c.get("ctx"), c.get("caller").user.id), 200);
  })
  // A user (who sees whom their visibility lets them), or an app's backend with a
  // `presence:read` key (everyone, as admins).
  .get("/", requireUserOrKey("presence:read"), async (c) => {
    const ids = plainUserIds(c.req.url) ?? validQuery(c, presenceQuerySchema).user_ids;
    const caller = c.get("access")?.kind === "key" ? null : c.get("caller");
    const viewer: Viewer = caller === null || caller.user.role === "admin"
      ? SEES_ALL
      : { all: false, userId: caller.user.id };
    // Written as text: each user's entry is kept serialized (a JSON.stringify of the whole
    // answer was a tenth of this request's time).
    const users = await presenceJson(c.get("ctx"), ids, viewer);
    return c.body(`{"users":${users}}`, 200, { "Content-Type": "application/json" });
  });
