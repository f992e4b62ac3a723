/** The user page's calls of the admin API, and the shapes they carry. */
import type { InferRequestType, InferResponseType } from "hono/client";
import { api } from "../lib/api.ts";
import type { LiveEvent } from "../lib/live.ts";

// `hc` names a route by its path, so the ids' patterns are part of the keys.
/** `/api/v1/admin/users/:id`. */
export const userById = api.users[":id{[A-Za-z0-9_-]{1,64}}"];
/** `/api/v1/admin/users/:id/sessions/:sid`: one sign-in of the user. */
export const signInById = userById.sessions[":sid{fam_[0-9A-Za-z]{26}}"];

/** An event about the user, as the event stream sends it. */
export type UserEvent = { id: string; kind: string; data: LiveEvent["data"] };
/** `GET /api/v1/admin/users/:id`. */
export type UserDetailBody =
  & Omit<InferResponseType<typeof userById.$get, 200>, "events">
  & { events: UserEvent[] };
/** The user as the page shows them. */
export type User = UserDetailBody["user"];
/** One active sign-in of the user. */
export type TokenPair = UserDetailBody["sessions"][number];
/** A change of the account (`PATCH` body). */
export type Patch = InferRequestType<typeof userById.$patch>["json"];

/** A change of the account an admin is asked to confirm. */
export type Change = { label: string; patch: Patch; danger: boolean };
/** What the dialog asks about: a change, ending one sign-in (or all: `null`), or erasing the user. */
export type Ask = { change: Change } | { end: TokenPair | null } | { erase: true };

/** The account changes offered: never suspending, banning or demoting oneself. */
export function changesFor(user: User, self: string): Change[] {
  const own = user.id === self;
  const out: Change[] = [];
  if (user.status === "active") {
    if (!own) {
      out.push({ label: "Suspend", patch: { status: "suspended" }, danger: true });
      out.push({ label: "Ban", patch: { status: "banned" }, danger: true });
    }
  } else {
    out.push({ label: "Reactivate", patch: { status: "active" }, danger: false });
    if (user.status !== "banned") {
      out.push({ label: "Ban", patch: { status: "banned" }, danger: true });
    }
  }
  if (user.role !== "admin") {
    out.push({ label: "Make admin", patch: { role: "admin" }, danger: false });
  } else if (!own) {
    out.push({ label: "Remove admin", patch: { role: "user" }, danger: true });
  }
  return out;
}
