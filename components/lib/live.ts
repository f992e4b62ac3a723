/// <reference lib="dom" />
import { signal } from "@preact/signals";
import type { AdminEvent } from "../../routes/api/v1/admin.ts";

/** One event of the admin stream, as the server types it. */
export type LiveEvent = AdminEvent;

/** The stream's event names. */
export const KINDS: readonly LiveEvent["kind"][] = [
  "presence",
  "otp",
  "user",
  "channel",
  "fraud",
  "audit",
];

/** Connection state every island shows: "live" (stream open) or "polling" (fallback). */
export const connection = signal<"connecting" | "live" | "polling">("connecting");

const listeners = new Set<(event: LiveEvent) => void>();
const pollers = new Set<() => void>();
let source: EventSource | null = null;
let pollTimer: ReturnType<typeof setInterval> | undefined;

/** Polling interval while the stream is down. */
export const POLL_MS = 10_000;

function startPolling(): void {
  connection.value = "polling";
  if (pollTimer !== undefined) return;
  pollTimer = setInterval(() => {
    for (const poll of pollers) poll();
  }, POLL_MS);
}

function stopPolling(): void {
  clearInterval(pollTimer);
  pollTimer = undefined;
}

function open(): void {
  if (source) return;
  source = new EventSource("/api/v1/admin/events");
  source.onopen = () => {
    connection.value = "live";
    stopPolling();
    // Anything missed while down is fetched once.
    for (const poll of pollers) poll();
  };
  source.onerror = () => {
    // EventSource reconnects by itself (resuming with Last-Event-ID); poll meanwhile.
    startPolling();
  };
  for (const kind of KINDS) {
    source.addEventListener(kind, (message) => {
      const event: LiveEvent = {
        id: (message as MessageEvent).lastEventId,
        kind,
        data: JSON.parse((message as MessageEvent).data),
      };
      for (const listener of listeners) listener(event);
    });
  }
}

/**
 * Follows the admin event stream: `onEvent` for every event, `poll` to refresh from the API
 * every 10 s while the stream is down (and once after it comes back). Returns an unsubscribe.
 */
export function subscribe(onEvent: (event: LiveEvent) => void, poll: () => void): () => void {
  listeners.add(onEvent);
  pollers.add(poll);
  open();
  return () => {
    listeners.delete(onEvent);
    pollers.delete(poll);
  };
}

/**
 * Follows the stream for a view that reads the API again: a burst of the events `concerns`
 * picks becomes one `refresh`, `wait` ms after the last; each poll refreshes too. Returns an
 * unsubscribe.
 */
export function refreshOn(
  concerns: (event: LiveEvent) => boolean,
  refresh: () => void,
  wait: number,
): () => void {
  let pending: ReturnType<typeof setTimeout> | undefined;
  const unsubscribe = subscribe((event) => {
    if (!concerns(event)) return;
    clearTimeout(pending);
    pending = setTimeout(refresh, wait);
  }, refresh);
  return () => {
    unsubscribe();
    clearTimeout(pending);
  };
}

/** "3 s ago", "5 min ago", "2 h ago", or a date. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toISOString().slice(0, 10);
}
