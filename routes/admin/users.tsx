/** `/admin/users`: everyone, filtered by presence or searched, a page at a time. */
import { Hono } from "hono";
import { listAdminUsers } from "../../core/admin/users.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import UsersTable, { type UserFilters } from "../../islands/UsersTable.tsx";
import { oneOf, pageCursor, readFromCursor } from "../_validation.ts";
import { adminPage } from "./_page.tsx";

/** Users a page of the list shows. */
const USERS_PAGE = 25;

/** The filters from the query string; anything else is left out (a search has no cursor). */
function userFiltersOf(query: Record<string, string>): UserFilters {
  const filters: UserFilters = {};
  const status = oneOf(query.status, ["online", "offline"] as const);
  if (status) filters.status = status;
  const q = (query.q ?? "").trim().slice(0, 254);
  if (q) filters.q = q;
  else if (pageCursor(query.cursor)) filters.cursor = query.cursor;
  return filters;
}

/** The list as the URL says; a cursor no list gave out starts from the newest. */
export const usersPage = new Hono<AppEnv>()
  .get("/users", async (c) => {
    const filters = userFiltersOf(c.req.query());
    const first = { status: filters.status ?? "all", q: filters.q, limit: USERS_PAGE } as const;
    const { page: initial, cursor } = await readFromCursor(
      (cursor) => listAdminUsers(c.get("ctx"), { ...first, cursor }),
      filters.cursor,
    );
    if (!cursor) delete filters.cursor;
    return adminPage(
      c,
      { title: "Users", path: "/admin/users" },
      <Island
        name="UsersTable"
        component={UsersTable}
        props={{ initial, filters, self: c.get("caller").user.id }}
      />,
    );
  });
