import { describe, subjectsOf } from "../lib/event_text.ts";
import { LocalTime } from "../LocalTime.tsx";
import { UserLink } from "../UserLink.tsx";
import type { UserEvent } from "./api.ts";

/** The user's recent events, worded as on the Events page. */
export function UserEvents({ events }: { events: UserEvent[] }) {
  if (events.length === 0) {
    return <p class="empty-state small">Nothing about this user in the last 24 hours.</p>;
  }
  return (
    <div class="feed user-feed">
      <ol data-testid="user-events">
        {events.map((event) => {
          const d = event.data;
          const by = subjectsOf(d).byUserId;
          return (
            <li key={event.id} class={`feed-item feed-${d.type.replace(".", "-")}`}>
              <LocalTime iso={d.at} date />
              <span class={`tag tag-${event.kind}`}>{d.type}</span>
              <span class="feed-text">{describe(d)}</span>
              <span class="feed-who">
                {by && (
                  <span class="by">
                    by <UserLink id={by} />
                  </span>
                )}
              </span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
