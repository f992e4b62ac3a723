import type { ComponentChildren } from "preact";
import { describe, subjectsOf } from "./lib/event_text.ts";
import type { LiveEvent } from "./lib/live.ts";
import { LocalTime } from "./LocalTime.tsx";
import { UserLink } from "./UserLink.tsx";

/**
 * One event as a line of a list, told as the Events page tells it: when, what happened (a
 * test delivery marked), and who: the masked recipient, the user, and the admin who acted.
 * The list names the line's classes; `tag` stands between the time and the text.
 */
export function EventLine(
  { event, class: lineClass, textClass, tag, "data-type": type }: {
    event: LiveEvent;
    class: string;
    textClass: string;
    tag?: ComponentChildren;
    "data-type"?: string;
  },
) {
  const d = event.data;
  const who = subjectsOf(d);
  return (
    <li class={lineClass} data-type={type}>
      <LocalTime iso={d.at} />
      {tag}
      <span class={textClass}>
        {describe(d)}
        {d.test === true && <span class="pill pill-test">test</span>}
      </span>
      <span class="feed-who">
        {who.recipient && <span class="recipient" title="Recipient (masked)">{who.recipient}</span>}
        {who.userId && <UserLink id={who.userId} />}
        {who.byUserId && (
          <span class="by">
            by <UserLink id={who.byUserId} />
          </span>
        )}
      </span>
    </li>
  );
}
