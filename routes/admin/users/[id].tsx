/** `/admin/users/:id`: one user, their sign-ins and recent events, with the admin's actions. */
import { Hono } from "hono";
import { readAdminUser } from "../../../core/admin/user_detail.ts";
import { AppError } from "../../../core/errors.ts";
import type { AppEnv } from "../../../web/env.ts";
import { Island } from "../../../web/islands.tsx";
import { userName } from "../../../components/lib/format.ts";
import UserDetail from "../../../islands/UserDetail.tsx";
import { isId } from "../../_validation.ts";
import { adminPage } from "../_page.tsx";

/** The user page; an id no user has (or none could) is the frame's "No such user" 404. */
export const userPage = new Hono<AppEnv>()
  .get("/users/:id", async (c) => {
    const id = c.req.param("id");
    if (!isId("user", id)) throw new AppError("NOT_FOUND", `No user "${id.slice(0, 64)}".`);
    const detail = await readAdminUser(c.get("ctx"), id);
    const name = userName(detail.user);
    return adminPage(
      c,
      { title: name, path: "/admin/users", back: { href: "/admin/users", label: "Users" } },
      <Island
        name="UserDetail"
        component={UserDetail}
        props={{ initial: detail, self: c.get("caller").user.id }}
      />,
    );
  });
