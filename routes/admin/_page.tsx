/** What every dashboard page shares: the frame with the signed-in admin, and posted forms. */
import type { Context } from "hono";
import type { ComponentChildren } from "preact";
import type { Caller } from "../../core/auth/sessions.ts";
import type { AppEnv } from "../../web/env.ts";
import { Layout } from "../../components/Layout.tsx";
import { page } from "../_app.tsx";

/** Whether pages may say how to get in without an admin (development only). */
export function inDevelopment(c: Context<AppEnv>): boolean {
  return c.get("ctx").config.appEnv === "development";
}

/** How the admin is named in the frame: their email, else phone, else id. */
export function adminName(caller: Caller): string {
  return caller.user.email ?? caller.user.phone ?? caller.user.id;
}

/**
 * Answers with `children` inside the dashboard frame, for the admin `adminOnly` let in; `path`
 * is the section the navigation marks, `back` the breadcrumb of a page below a section.
 */
export function adminPage(
  c: Context<AppEnv>,
  options: {
    title: string;
    path: string;
    back?: { href: string; label: string };
    status?: number;
  },
  children: ComponentChildren,
): Response {
  const { title, path, back, status } = options;
  return page(
    c,
    <Layout path={path} admin={adminName(c.get("caller"))} title={title} back={back}>
      {children}
    </Layout>,
    { title, status },
  );
}

/** The posted form; a body that is no form reads as an empty one (the page asks again). */
export async function formOf(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  try {
    return await c.req.parseBody();
  } catch {
    return {};
  }
}
