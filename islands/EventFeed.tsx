import { useEffect, useState } from "preact/hooks";
import { EventLine } from "../components/EventLine.tsx";
import { KINDS, type LiveEvent, subscribe } from "../components/lib/live.ts";
import { LiveBadge } from "../components/LiveStatus.tsx";
import { TimeZoneNote } from "../components/LocalTime.tsx";
import { ToggleChip } from "../components/ToggleChip.tsx";

const KEEP = 200;

type Kind = LiveEvent["kind"];

const KIND_LABELS: Record<Kind, string> = {
  otp: "Sign-ins & codes",
  presence: "Presence",
  user: "Accounts",
  channel: "Channels",
  fraud: "Fraud",
  audit: "Audit",
};

/** Types that went wrong, and types that went right: the tag's colour repeats its words. */
const BAD = new Set([
  "otp.failed",
  "otp.invalid",
  "otp.rate_limited",
  "otp.refused",
  "channel.down",
  "channel.budget_exhausted",
  "fraud.prefix_blocked",
]);
const GOOD = new Set(["otp.verified", "presence.online", "channel.up"]);

function tone(type: string): string {
  return BAD.has(type) ? " tag-bad" : GOOD.has(type) ? " tag-good" : "";
}

/**
 * The live feed of sign-ins, deliveries, failures, presence, fraud and admin changes. A page
 * of older events (`before`: below that event id) stays as it is: new events only say so.
 */
export default function EventFeed(
  { initial, before, older: hasOlder = false }: {
    initial: LiveEvent[];
    before?: string;
    /** Whether the log has events older than the last of `initial`. */
    older?: boolean;
  },
) {
  const [events, setEvents] = useState(initial);
  const [older, setOlder] = useState(hasOlder);
  const [newer, setNewer] = useState(false);
  const [kinds, setKinds] = useState<Set<Kind>>(new Set(KINDS));
  useEffect(() =>
    subscribe((event) => {
      if (before) {
        setNewer(true);
        return;
      }
      setEvents((list) => {
        if (list.some((e) => e.id === event.id)) return list;
        // The oldest shown drops off: the log still has it.
        if (list.length >= KEEP) setOlder(true);
        return [event, ...list].slice(0, KEEP);
      });
    }, () => {}), []);
  const toggle = (kind: Kind) => {
    const next = new Set(kinds);
    if (next.has(kind)) next.delete(kind);
    else next.add(kind);
    setKinds(next);
  };
  const shown = events.filter((e) => kinds.has(e.kind));
  const counts = new Map<Kind, number>();
  for (const e of events) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  return (
    <div>
      <div class="filter-bar">
        <div class="chips" role="group" aria-label="Show events of these kinds">
          <span class="chips-label" aria-hidden="true">Show</span>
          {KINDS.map((kind) => (
            <ToggleChip
              key={kind}
              pressed={kinds.has(kind)}
              onClick={() => toggle(kind)}
              testid={`kind-${kind}`}
            >
              {KIND_LABELS[kind]}
              <span class="chip-count">{counts.get(kind) ?? 0}</span>
            </ToggleChip>
          ))}
        </div>
        <a class="button-link" href="/api/v1/admin/events.csv" download data-testid="export-csv">
          Export CSV
        </a>
        <LiveBadge />
      </div>
      {before && (
        <p class="notice" role="status">
          {newer ? "New events arrived. " : "Showing older events. "}
          <a href="/admin/events">Back to newest</a>
        </p>
      )}
      <div class="feed">
        <div class="feed-head" aria-hidden="true">
          <TimeZoneNote />
          <span>Event</span>
          <span>What happened</span>
          <span>Who</span>
        </div>
        <ol aria-live="polite" data-testid="feed">
          {shown.length === 0 && (
            <li class="empty">
              {events.length === 0
                ? "Nothing yet. Events appear here as they happen."
                : "No events of the kinds shown. Turn a kind on above."}
            </li>
          )}
          {shown.map((event) => <FeedItem key={event.id} event={event} />)}
        </ol>
      </div>
      <div class="pager">
        <span class="muted small">
          Newest first, from the last 24 hours. Recipients are masked; codes are never shown.
        </span>
        {older && events.length > 0 && (
          <a
            class="button-link"
            href={`/admin/events?before=${events[events.length - 1].id}`}
            data-testid="load-older"
          >
            Load older
          </a>
        )}
      </div>
    </div>
  );
}

function FeedItem({ event }: { event: LiveEvent }) {
  const type = event.data.type;
  return (
    <EventLine
      event={event}
      class={`feed-item feed-${type.replace(".", "-")}`}
      textClass="feed-text"
      tag={<span class={`tag tag-${event.kind}${tone(type)}`}>{type}</span>}
    />
  );
}
