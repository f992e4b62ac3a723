import { EventLine } from "../EventLine.tsx";
import type { LiveEvent } from "../lib/live.ts";

/** How many events the overview lists. */
export const RECENT_EVENTS = 12;

/** Newest first by id (ids are in time order), without repeats, at most `RECENT_EVENTS`. */
export function withEvent(list: LiveEvent[], event: LiveEvent): LiveEvent[] {
  if (list.some((e) => e.id === event.id)) return list;
  return [event, ...list].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, RECENT_EVENTS);
}

/**
 * The last events, told as the Events page tells them; those that arrive while the page is
 * open (`fresh`) slide in at the top.
 */
export function RecentActivity({ events, fresh }: { events: LiveEvent[]; fresh: Set<string> }) {
  return (
    <section class="panel ov-panel" aria-labelledby="ov-activity-title">
      <div class="ov-panel-head">
        <h2 id="ov-activity-title">Recent activity</h2>
        <a href="/admin/events" class="small">All events →</a>
      </div>
      <ol class="activity" aria-live="polite" data-testid="recent-activity">
        {events.length === 0 && (
          <li class="empty">Nothing yet. Sign-ins and changes appear here as they happen.</li>
        )}
        {events.map((event) => (
          <EventLine
            key={event.id}
            event={event}
            class={`activity-item${fresh.has(event.id) ? " activity-new" : ""}`}
            textClass="activity-text"
            data-type={event.data.type}
          />
        ))}
      </ol>
    </section>
  );
}
