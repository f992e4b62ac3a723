import { monotonicUlid } from "../ids.ts";
import type { StoredEvent } from "../../kv/events.ts";

/** Categories of live events: the SSE event names (README, "What an admin sees"). */
export type EventKind = "presence" | "otp" | "user" | "channel" | "fraud" | "audit";

/** A live event as subscribers receive it. */
export interface LiveEvent extends StoredEvent {
  kind: EventKind;
}

/** Whatever listens to live events (SSE streams, the WebSocket hub). */
export type EventListener = (event: LiveEvent) => void;

/**
 * The in-process event bus: every event this instance makes, and every event the log tail
 * brings in from other instances, reaches each subscriber once.
 */
export class EventBus {
  readonly #listeners = new Set<EventListener>();
  readonly #nextId = monotonicUlid();

  constructor(
    readonly instance: string,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * A new event that happened `at`. Its id is a ULID of the moment it is made (not of `at`,
   * which may lie in the past), so the log tail of other instances finds it.
   */
  newEvent(
    kind: EventKind,
    type: string,
    at: number,
    fields: Record<string, unknown> = {},
  ): LiveEvent {
    return {
      id: this.#nextId(this.now()),
      instance: this.instance,
      kind,
      data: { type, at: new Date(at).toISOString(), ...fields },
    };
  }

  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Delivers events to every subscriber; a failing subscriber does not stop the others. */
  publish(...events: LiveEvent[]): void {
    for (const event of events) {
      for (const listener of this.#listeners) {
        try {
          listener(event);
        } catch (error) {
          this.onError(error);
        }
      }
    }
  }

  /** How many subscribers listen. */
  get size(): number {
    return this.#listeners.size;
  }
}
