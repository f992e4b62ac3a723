import { describe } from "../lib/event_text.ts";
import { LocalTime } from "../LocalTime.tsx";
import type { UserEvent } from "./api.ts";

/** The user's contact changes among their recent events (masked, as the events carry them). */
export function ContactChanges({ events }: { events: UserEvent[] }) {
  const changes = events.filter((event) => event.data.type === "user.contact_changed");
  if (changes.length === 0) {
    return (
      <p class="muted small" data-testid="contact-changes">
        No contact changes in the last 24 hours.
      </p>
    );
  }
  return (
    <ul class="contact-changes small" data-testid="contact-changes">
      {changes.map((event) => (
        <li key={event.id}>
          <LocalTime iso={event.data.at} date /> {describe(event.data)}
        </li>
      ))}
    </ul>
  );
}
