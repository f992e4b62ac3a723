import { eachEvent, EVENT_LOG_TTL_MS } from "../../kv/events.ts";
import { listUsers } from "../../kv/users.ts";
import { decodeTime } from "../ids.ts";
import { type PresenceContext, presenceOfUsers } from "../presence/presence.ts";
import type { Services } from "../services.ts";

/** Users read per page while exporting (each page joins presence in one batch). */
const USERS_PAGE = 500;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes
 * doubled. A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-` or `@`)
 * is prefixed with `'`, so opening an export never runs what a user typed (or a `+` phone).
 */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined
    ? ""
    : typeof value === "object"
    ? JSON.stringify(value)
    : String(value);
  if (/^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record, CRLF-terminated. */
export function csvRow(cells: unknown[]): string {
  return cells.map(csvCell).join(",") + "\r\n";
}

/** Every user, newest first, as CSV lines (a header first), read a page at a time. */
export async function* usersCsv(ctx: PresenceContext): AsyncGenerator<string> {
  yield csvRow([
    "id",
    "phone",
    "email",
    "telegram_id",
    "status",
    "role",
    "created_at",
    "presence",
    "last_seen",
  ]);
  let cursor: string | undefined;
  do {
    const page = await listUsers(ctx.kv, { cursor, limit: USERS_PAGE, reverse: true });
    const presence = await presenceOfUsers(ctx, page.users);
    let out = "";
    for (const user of page.users) {
      const view = presence.get(user.id)!;
      out += csvRow([
        user.id,
        user.phone,
        user.email,
        user.telegramId,
        user.status,
        user.role,
        new Date(user.createdAt).toISOString(),
        view.status,
        view.last_seen,
      ]);
    }
    if (out) yield out;
    cursor = page.cursor ?? undefined;
  } while (cursor);
}

/**
 * The event log of the last 24 h, newest first, as CSV lines (a header first): the fields
 * every event has in columns, the rest as one JSON object.
 */
export async function* eventsCsv(ctx: Services): AsyncGenerator<string> {
  yield csvRow(["id", "at", "kind", "type", "user_id", "data"]);
  // `expireIn` is a lower bound: an event past its 24 h may linger a little.
  const since = ctx.clock.now() - EVENT_LOG_TTL_MS;
  let out = "";
  for await (const event of eachEvent(ctx.kv)) {
    if (decodeTime(event.id) < since) break;
    const { type, at, user_id, ...rest } = event.data;
    out += csvRow([event.id, at, event.kind, type, user_id, rest]);
    if (out.length >= 64 * 1024) {
      yield out;
      out = "";
    }
  }
  if (out) yield out;
}
