import type { InferResponseType } from "hono/client";
import { api, call } from "../components/lib/api.ts";
import { actionText, type AuditAction, isMoment, valueText } from "../components/lib/audit_text.ts";
import { shortId } from "../components/lib/format.ts";
import { useLiveLog } from "../components/lib/live_list.ts";
import { LiveBadge } from "../components/LiveStatus.tsx";
import { LocalTime, TimeZoneNote } from "../components/LocalTime.tsx";
import { UserLink } from "../components/UserLink.tsx";

type AnsweredEntry = InferResponseType<typeof api.audit.$get, 200>["entries"][number];
/** One audit entry (its values before and after are any JSON). */
export type AuditRow = Omit<AnsweredEntry, "changes"> & AuditAction;
/** A page of `GET /api/v1/admin/audit`. */
export interface AuditPage {
  entries: AuditRow[];
  cursor: string | null;
}

/** What admins changed, newest first, a page at a time; a new change appears by itself. */
export default function AuditLog({ initial, cursor: start }: {
  initial: AuditPage;
  /** The cursor the first row starts at (a reload after "Load older"); none: the newest. */
  cursor?: string;
}) {
  const { rows, next, from, newer, loading, error, show, loadMore } = useLiveLog({
    initial: { rows: initial.entries, cursor: initial.cursor },
    filters: {},
    from: start,
    read: (query) =>
      call(api.audit.$get({ query })).then((page) => ({ rows: page.entries, cursor: page.cursor })),
    concerns: (event) => event.kind === "audit",
    // Several changes at once become one read.
    wait: 300,
    failure: "Could not load the audit log.",
  });

  return (
    <div class="audit">
      <div class="filter-bar">
        <span class="muted small">Every change an admin made, kept for a year.</span>
        <LiveBadge />
      </div>
      {from && (
        <p class="notice" role="status">
          {newer ? "New changes were made. " : "Showing older changes. "}
          <button type="button" class="link" onClick={() => show({})}>Back to newest</button>
        </p>
      )}
      {error && <p class="alert" role="alert">{error}</p>}
      <div class="table-wrap" aria-busy={loading}>
        <table class="audit-table cards-on-phone">
          <thead>
            <tr>
              <th scope="col" class="w-time">
                <TimeZoneNote />
              </th>
              <th scope="col">Admin</th>
              <th scope="col" class="w-ip">From IP</th>
              <th scope="col" class="w-action">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Changes</th>
            </tr>
          </thead>
          <tbody data-testid="audit" aria-live="polite">
            {rows.length === 0 && (
              <tr class="empty-row">
                <td colSpan={6} class="empty">
                  Nothing yet. When an admin suspends a user, ends sign-ins, changes a setting or
                  lifts a block, it is recorded here.
                </td>
              </tr>
            )}
            {rows.map((entry) => <AuditLine key={entry.id} entry={entry} />)}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <span class="muted small">
          {rows.length} {rows.length === 1 ? "change" : "changes"}
          {next ? "" : rows.length > 0 ? " · that is all of them" : ""}
        </span>
        {next && (
          <button type="button" onClick={loadMore} disabled={loading} data-testid="load-more">
            {loading ? "Loading…" : "Load older"}
          </button>
        )}
      </div>
    </div>
  );
}

function AuditLine({ entry }: { entry: AuditRow }) {
  const { actor } = entry;
  return (
    <tr data-audit={entry.id} data-action={entry.action}>
      <td data-label="Time" class="nowrap">
        <LocalTime iso={entry.at} date />
      </td>
      <td data-label="Admin" class="c-admin" data-testid="audit-actor">
        {actor.user_id
          ? (
            <>
              <span class="who">{actor.name ?? "Unknown user"}</span>{" "}
              <UserLink id={actor.user_id} />
            </>
          )
          : actor.api_key_id
          ? <span class="who mono">API key {actor.api_key_id}</span>
          : <span class="muted">system</span>}
      </td>
      <td data-label="From IP" class="mono c-ip">{actor.ip || "—"}</td>
      <td data-label="Action" class="c-action">{actionText(entry)}</td>
      <td data-label="Target" class="c-target">
        <Target entry={entry} />
      </td>
      <td data-label="Changes" class="wide c-changes">
        <ul class="changes" data-testid="audit-changes">
          {Object.entries(entry.changes).map(([name, { from, to }]) => (
            <li key={name}>
              <span class="mono">{name}</span>: <Value value={from} /> → <Value value={to} />
            </li>
          ))}
        </ul>
      </td>
    </tr>
  );
}

/** What was changed: a user (linked), the settings by name, or a number range. */
function Target({ entry }: { entry: AuditRow }) {
  if (entry.target.startsWith("usr_")) {
    return (
      <>
        {entry.target_name && <span class="target-name">{entry.target_name}</span>}{" "}
        <UserLink id={entry.target} />
      </>
    );
  }
  if (entry.target === "settings") {
    return <span class="mono">{Object.keys(entry.changes).join(", ")}</span>;
  }
  return <span class="mono prefix">{entry.target}</span>;
}

/** A value before or after: a moment in local time, an id shortened, else as it is. */
function Value({ value }: { value: unknown }) {
  if (isMoment(value)) return <LocalTime iso={value} date />;
  const text = valueText(value);
  if (/^[a-z]{3}_[0-9A-Z]{26}$/.test(text)) {
    return <span class="mono" title={text}>{shortId(text)}</span>;
  }
  return <span class="value">{text}</span>;
}
