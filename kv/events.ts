import { keys } from "./keys.ts";
import type { AtomicWrites } from "./writes.ts";

/** How long the event log keeps an event. */
export const EVENT_LOG_TTL_MS = 24 * 3_600_000;

/** A stored event: its id orders the log; `instance` says which process wrote it. */
export interface StoredEvent {
  id: string;
  instance: string;
  /** `presence`, `otp`, `user` or `channel`: the SSE event name. */
  kind: string;
  data: { type: string; at: string } & Record<string, unknown>;
}

/** Adds an event to an atomic operation, so it is logged exactly when its change commits. */
export function addEvent<W extends AtomicWrites>(op: W, event: StoredEvent): W {
  return op.set(keys.event(event.id), event, { expireIn: EVENT_LOG_TTL_MS });
}

/** Events with ids above `afterId` (exclusive), oldest first. */
export async function listEventsAfter(
  kv: Deno.Kv,
  afterId: string,
  limit = 500,
): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  const iterator = kv.list<StoredEvent>(
    { start: [...keys.events(), `${afterId}\u0000`], end: [...keys.events(), "\uffff"] },
    { limit },
  );
  for await (const entry of iterator) out.push(entry.value);
  return out;
}

/** The newest `limit` events, newest first. */
export async function listRecentEvents(kv: Deno.Kv, limit = 100): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (
    const entry of kv.list<StoredEvent>({ prefix: keys.events() }, { limit, reverse: true })
  ) {
    out.push(entry.value);
  }
  return out;
}
