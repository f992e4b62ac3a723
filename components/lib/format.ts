/**
 * How the dashboard writes times, durations and ids. Times are stored and sent in UTC; people
 * read them in their browser's time zone, with UTC one hover away.
 */

/** "14:03:07" in the browser's time zone. */
export function localTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
}

/** "14:03:07" today, "3 Dec, 14:03" another day, in the browser's time zone. */
export function localDateTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (date.toDateString() === now.toDateString()) return localTime(iso);
  return date.toLocaleString(undefined, {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
}

/** "2026-12-01 14:03:07 UTC": the same moment, as the server logged it. */
export function utcText(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** "14:03:07" of the UTC clock (what the server renders before the browser knows its zone). */
export function utcTime(iso: string): string {
  return iso.slice(11, 19);
}

/** The browser's time zone as an offset people recognise: "GMT+2", "GMT-5", "UTC". */
export function zoneName(): string {
  const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "shortOffset" })
    .formatToParts(new Date())
    .find((p) => p.type === "timeZoneName");
  return part?.value === "GMT" ? "UTC" : part?.value ?? "UTC";
}

/** `usr_01M8R96X07TKPYKDJBR0G2RGHD` → `usr_…0G2RGHD`: enough to tell ids apart at a glance. */
export function shortId(id: string): string {
  const at = id.indexOf("_");
  const kind = at > 0 && at < 6 ? id.slice(0, at + 1) : "";
  const rest = id.slice(kind.length);
  return rest.length > 9 ? `${kind}…${rest.slice(-7)}` : id;
}

/** "84 ms", "1.2 s", or an em dash when unknown. */
export function duration(ms: number | null): string {
  if (ms === null) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** How the dashboard names a user: phone, else email, else Telegram id, else the user id. */
export function userName(
  user: { id: string; phone: string | null; email: string | null; telegram_id: string | null },
): string {
  return user.phone ?? user.email ?? (user.telegram_id ? `Telegram ${user.telegram_id}` : user.id);
}
