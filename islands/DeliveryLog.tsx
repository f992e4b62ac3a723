import type { InferRequestType, InferResponseType } from "hono/client";
import { api, call } from "../components/lib/api.ts";
import { duration, shortId } from "../components/lib/format.ts";
import { useLiveLog } from "../components/lib/live_list.ts";
import { LiveBadge } from "../components/LiveStatus.tsx";
import { LocalTime, TimeZoneNote } from "../components/LocalTime.tsx";
import { ToggleChip } from "../components/ToggleChip.tsx";

/** A page of `GET /api/v1/admin/deliveries`. */
export type DeliveriesPage = InferResponseType<typeof api.deliveries.$get, 200>;
/** One delivery attempt. */
export type DeliveryRow = DeliveriesPage["deliveries"][number];

type DeliveriesQuery = InferRequestType<typeof api.deliveries.$get>["query"];
type Channel = NonNullable<DeliveriesQuery["channel"]>;
type Status = NonNullable<DeliveriesQuery["status"]>;

/** What the page shows: its filters, and the cursor its first row starts at (none: newest). */
export interface DeliveryFilters {
  channel?: Channel;
  status?: Status;
  cursor?: string;
}

const CHANNELS: [Channel, string][] = [["sms", "SMS"], ["telegram", "Telegram"], [
  "email",
  "Email",
]];
const STATUSES: [Status, string][] = [
  ["sent", "Sent"],
  ["delivered", "Delivered"],
  ["failed", "Failed"],
  ["refused", "Refused"],
];
const CHANNEL_NAMES: Record<string, string> = Object.fromEntries(CHANNELS);
/** The `otp` events that mean a new attempt is in the log. */
const NEW_ATTEMPT = new Set(["otp.sent", "otp.failed", "otp.refused"]);

/** Every delivery attempt, newest first, filtered by channel and status, kept live. */
export default function DeliveryLog(
  { initial, filters: start }: { initial: DeliveriesPage; filters: DeliveryFilters },
) {
  const shown: Omit<DeliveryFilters, "cursor"> = { channel: start.channel, status: start.status };
  const { rows, next, filters, from, newer, loading, error, show, loadMore } = useLiveLog({
    initial: { rows: initial.deliveries, cursor: initial.cursor },
    filters: shown,
    from: start.cursor,
    read: (query) =>
      call(api.deliveries.$get({ query })).then((page) => ({
        rows: page.deliveries,
        cursor: page.cursor,
      })),
    concerns: (event) => NEW_ATTEMPT.has(String(event.data.type)),
    // A burst of sign-ins becomes one read.
    wait: 500,
    failure: "Could not load deliveries.",
  });
  const { channel, status } = filters;

  const filtered = Boolean(channel || status);
  return (
    <div class="deliveries">
      <div class="filter-bar">
        <div class="chips" role="group" aria-label="Channel">
          <span class="chips-label" aria-hidden="true">Channel</span>
          <ToggleChip
            pressed={!channel}
            onClick={() => show({ channel: undefined, status })}
            testid="channel-all"
          >
            All
          </ToggleChip>
          {CHANNELS.map(([value, label]) => (
            <ToggleChip
              key={value}
              pressed={channel === value}
              onClick={() => show({ channel: channel === value ? undefined : value, status })}
              testid={`channel-${value}`}
            >
              {label}
            </ToggleChip>
          ))}
        </div>
        <div class="chips" role="group" aria-label="Status">
          <span class="chips-label" aria-hidden="true">Status</span>
          <ToggleChip
            pressed={!status}
            onClick={() => show({ channel, status: undefined })}
            testid="status-all"
          >
            All
          </ToggleChip>
          {STATUSES.map(([value, label]) => (
            <ToggleChip
              key={value}
              pressed={status === value}
              onClick={() => show({ channel, status: status === value ? undefined : value })}
              testid={`status-${value}`}
            >
              {label}
            </ToggleChip>
          ))}
        </div>
        <LiveBadge />
      </div>
      {from && (
        <p class="notice" role="status">
          {newer ? "New deliveries arrived. " : "Showing older deliveries. "}
          <button type="button" class="link" onClick={() => show({ channel, status })}>
            Back to newest
          </button>
        </p>
      )}
      {error && <p class="alert" role="alert">{error}</p>}
      <div class="table-wrap" aria-busy={loading}>
        <table class="deliveries-table cards-on-phone">
          <thead>
            <tr>
              <th scope="col" class="w-time">
                <TimeZoneNote />
              </th>
              <th scope="col" class="w-channel">Channel</th>
              <th scope="col" class="w-provider">Provider</th>
              <th scope="col">Recipient</th>
              <th scope="col" class="w-country">Country</th>
              <th scope="col" class="w-status">Status</th>
              <th scope="col" class="num w-latency">Latency</th>
              <th scope="col">Error</th>
              <th scope="col" class="w-request">Request</th>
            </tr>
          </thead>
          <tbody data-testid="deliveries">
            {rows.length === 0 && (
              <tr class="empty-row">
                <td colSpan={9} class="empty">
                  {filtered
                    ? (
                      <>
                        No deliveries match these filters.{" "}
                        <button
                          type="button"
                          class="link"
                          onClick={() => show({})}
                        >
                          Show all
                        </button>
                      </>
                    )
                    : "No deliveries in the last 7 days. Every code sent by SMS, Telegram or email is listed here."}
                </td>
              </tr>
            )}
            {rows.map((d) => <DeliveryLine key={d.id} d={d} />)}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <span class="muted small" aria-live="polite">
          {rows.length} {rows.length === 1 ? "attempt" : "attempts"}
          {next ? "" : rows.length > 0 ? " · that is all of the last 7 days" : ""}
        </span>
        {next && (
          <button type="button" onClick={loadMore} disabled={loading} data-testid="load-more">
            {loading ? "Loading…" : "Load more"}
          </button>
        )}
      </div>
    </div>
  );
}

function DeliveryLine({ d }: { d: DeliveryRow }) {
  return (
    <tr data-delivery={d.id}>
      <td data-label="Time" class="nowrap">
        <LocalTime iso={d.at} date />
      </td>
      <td data-label="Channel">{CHANNEL_NAMES[d.channel] ?? d.channel}</td>
      <td data-label="Provider" class="muted">{d.provider}</td>
      <td data-label="Recipient" class="c-recipient">
        <span class="recipient">{d.to}</span>
        {d.test && <span class="pill pill-test">test</span>}
      </td>
      <td data-label="Country">{d.country ?? <span class="muted">—</span>}</td>
      <td data-label="Status">
        <StatusBadge status={d.status} />
      </td>
      <td data-label="Latency" class="num">{duration(d.latency_ms)}</td>
      <td data-label="Error" class={`cell-error${d.error ? "" : " no-error"}`}>
        {d.error ? <span title={d.error}>{d.error}</span> : <span class="muted">—</span>}
      </td>
      <td data-label="Request" class="nowrap">
        {d.request_id
          ? <span class="mono" title={d.request_id}>{shortId(d.request_id)}</span>
          : <span class="muted">—</span>}
      </td>
    </tr>
  );
}

const ICONS: Record<Status, string> = {
  sent: "M2 6h7M6.5 3 9.5 6 6.5 9",
  delivered: "M2.5 6.2 5 8.6 9.6 3.6",
  failed: "M3 3l6 6M9 3 3 9",
  refused: "M2.8 9.2 9.2 2.8M10 6a4 4 0 1 1-8 0 4 4 0 0 1 8 0Z",
};

/** A status in words, with an icon and a colour that only repeat them. */
export function StatusBadge({ status }: { status: Status }) {
  return (
    <span class={`status status-${status}`} data-testid="delivery-status">
      <svg viewBox="0 0 12 12" width="12" height="12" aria-hidden="true">
        <path d={ICONS[status]} fill="none" stroke="currentColor" stroke-width="1.6" />
      </svg>
      {STATUSES.find(([value]) => value === status)?.[1] ?? status}
    </span>
  );
}
