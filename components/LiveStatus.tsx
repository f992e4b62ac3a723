import { connection } from "./lib/live.ts";

/** The small "Live" / "Polling" badge in the page header. */
export function LiveBadge() {
  const state = connection.value;
  const label = state === "live"
    ? "Live"
    : state === "polling"
    ? "Reconnecting… polling every 10 s"
    : "Connecting…";
  return (
    <span class={`badge badge-${state}`} role="status" aria-live="polite" data-testid="live-badge">
      <span class="dot" aria-hidden="true" />
      {label}
    </span>
  );
}
