import { listEventsAfter, listRecentEvents } from "../../kv/events.ts";
import type { Services } from "../services.ts";
import type { LiveEvent } from "./events.ts";

/** Open event streams an admin may have on this instance. */
export const MAX_STREAMS_PER_ADMIN = 10;

/** Event streams open on this instance, per admin: the 11th of one admin is refused. */
export class StreamSlots {
  readonly #open = new Map<string, number>();

  /** Takes a slot for `userId`'s new stream; null when they have all of theirs open. */
  acquire(userId: string): (() => void) | null {
    const open = this.#open.get(userId) ?? 0;
    if (open >= MAX_STREAMS_PER_ADMIN) return null;
    this.#open.set(userId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(userId) ?? 1) - 1;
      if (left > 0) this.#open.set(userId, left);
      else this.#open.delete(userId);
    };
  }
}

/** Most events one `Last-Event-ID` resume replays. */
const MAX_REPLAY = 1_000;
/** Ids remembered to skip an event both replayed and received live. */
const MAX_REMEMBERED = 5_000;

/** What a live event stream yields: an event, or a pause worth a keep-alive. */
export type StreamItem = { event: LiveEvent } | { idle: true };

/**
 * The admin event stream: first the events after `lastEventId` from the log (a reconnecting
 * browser resumes where it stopped), then every event on the bus as it happens, each once.
 * Yields `{ idle }` after `idleMs` without events, and ends when `signal` aborts.
 */
export async function* liveEvents(
  ctx: Services,
  options: { lastEventId?: string; signal: AbortSignal; idleMs: number },
): AsyncGenerator<StreamItem> {
  const queue: LiveEvent[] = [];
  let wake: (() => void) | null = null;
  const unsubscribe = ctx.bus.subscribe((event) => {
    queue.push(event);
    wake?.();
  });
  const onAbort = () => wake?.();
  options.signal.addEventListener("abort", onAbort);
  const sent = new Set<string>();
  const fresh = (event: LiveEvent) => {
    if (sent.has(event.id)) return false;
    if (sent.size >= MAX_REMEMBERED) sent.clear();
    sent.add(event.id);
    return true;
  };
  try {
    if (options.lastEventId) {
      for (const event of await listEventsAfter(ctx.kv, options.lastEventId, MAX_REPLAY)) {
        if (fresh(event as LiveEvent)) yield { event: event as LiveEvent };
      }
    }
    while (!options.signal.aborted) {
      while (queue.length > 0 && !options.signal.aborted) {
        const event = queue.shift()!;
        if (fresh(event)) yield { event };
      }
      if (options.signal.aborted) break;
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), options.idleMs);
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      wake = null;
      if (timedOut && !options.signal.aborted) yield { idle: true };
    }
  } finally {
    unsubscribe();
    options.signal.removeEventListener("abort", onAbort);
  }
}

/**
 * The newest `limit` events of the log, newest first (the event page's first screen); with
 * `before`, the ones older than that event (the page's "Load older").
 */
export async function recentEvents(
  ctx: Services,
  limit: number,
  before?: string,
): Promise<LiveEvent[]> {
  return (await listRecentEvents(ctx.kv, limit, before)) as LiveEvent[];
}
