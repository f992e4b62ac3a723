import { useEffect, useState } from "preact/hooks";
import { KINDS, type LiveEvent, subscribe } from "./lib/live.ts";
import { LiveBadge } from "./LiveStatus.tsx";

const KEEP = 200;

type Kind = LiveEvent["kind"];

/** One line of text for an event: who, what, how. */
export function describe(event: LiveEvent): string {
  const d = event.data;
  switch (d.type) {
    case "presence.online":
      return `${d.user_id} came online`;
    case "presence.offline":
      return `${d.user_id} went offline`;
    case "otp.requested":
      return `Code requested${d.recipient ? ` for ${d.recipient}` : ""} (waiting for Telegram)`;
    case "otp.sent":
      return d.test
        ? `Test code for ${d.recipient} (nothing sent)`
        : `Code sent to ${d.recipient} by ${d.channel}`;
    case "otp.verified":
      return `${d.recipient} signed in${d.new_user ? " (new user)" : ""}`;
    case "otp.invalid":
      return `Wrong code for ${d.recipient}, ${d.attempts_left} attempts left`;
    case "otp.failed":
      return `Delivery to ${d.recipient} failed`;
    case "otp.rate_limited":
      return `Rate limited (${d.limit}) ${d.recipient}`;
    case "otp.refused":
      return `SMS to ${d.recipient} refused (${String(d.reason).replace("_", " ")})`;
    case "user.updated":
      return `${d.user_id} is now ${d.status} (${d.role})`;
    case "user.signed_out":
      return `${d.user_id} signed out`;
    case "channel.down":
      return `${d.channel} is failing: ${d.error}`;
    case "channel.up":
      return `${d.channel} works again`;
    case "channel.budget_exhausted":
      return `Daily ${d.channel} budget of ${d.limit} spent`;
    case "fraud.prefix_blocked":
      return `Number range ${d.prefix} blocked for SMS: ${d.sent} sent, ${d.verified} used`;
    case "fraud.prefix_unblock":
      return `Number range ${d.target} unblocked by ${
        (d.actor as { user_id?: string } | undefined)?.user_id ?? "an admin"
      }`;
    default:
      return String(d.type);
  }
}

/** The live feed of sign-ins, deliveries, failures and presence changes. */
export default function EventFeed({ initial }: { initial: LiveEvent[] }) {
  const [events, setEvents] = useState(initial);
  const [kinds, setKinds] = useState<Set<Kind>>(new Set(KINDS));
  useEffect(() =>
    subscribe((event) => {
      setEvents((list) => (list.some((e) =>
          e.id === event.id
        )
        ? list
        : [event, ...list].slice(0, KEEP))
      );
    }, () => {}), []);
  const toggle = (kind: Kind) => {
    const next = new Set(kinds);
    if (next.has(kind)) next.delete(kind);
    else next.add(kind);
    setKinds(next);
  };
  const shown = events.filter((e) => kinds.has(e.kind));
  return (
    <div>
      <div class="toolbar">
        <div class="segmented" role="group" aria-label="Show kinds">
          {(["otp", "presence", "user", "channel", "fraud", "audit"] as const).map((kind) => (
            <button
              type="button"
              key={kind}
              aria-pressed={kinds.has(kind)}
              onClick={() => toggle(kind)}
            >
              {{
                otp: "Sign-ins & codes",
                presence: "Presence",
                user: "Accounts",
                channel: "Channels",
                fraud: "Fraud",
                audit: "Audit",
              }[
                kind
              ]}
            </button>
          ))}
        </div>
        <LiveBadge />
      </div>
      <ol class="feed" aria-live="polite" data-testid="feed">
        {shown.length === 0 && (
          <li class="empty">Nothing yet. Events appear here as they happen.</li>
        )}
        {shown.map((event) => (
          <li key={event.id} class={`feed-item feed-${event.data.type.replace(".", "-")}`}>
            <time dateTime={event.data.at}>{event.data.at.slice(11, 19)}</time>
            <span class={`tag tag-${event.kind}`}>{event.data.type}</span>
            <span>{describe(event)}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}
