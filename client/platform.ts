/** Timers the client waits with; tests pass fakes. */
export interface Timers {
  /** Calls `callback` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a `setTimeout` by its handle. */
  clearTimeout(handle: unknown): void;
}

/** The platform's timers. */
export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** What the heartbeat needs of `document`: whether the page is shown. */
export interface VisibilityDocument {
  /** `hidden` when the page is not shown. */
  readonly visibilityState: string;
  /** Listens for the page being shown or hidden. */
  addEventListener(type: "visibilitychange", listener: () => void): void;
  /** Stops listening for visibility changes. */
  removeEventListener(type: "visibilitychange", listener: () => void): void;
}

/** The browser's `document`, or null elsewhere (Deno, workers). */
export function pageDocument(): VisibilityDocument | null {
  return (globalThis as { document?: VisibilityDocument }).document ?? null;
}

/** What the client uses of a WebSocket. */
export interface SocketLike {
  /** `WebSocket.OPEN` (1) once open. */
  readonly readyState: number;
  /** Sends one text message. */
  send(data: string): void;
  /** Closes the socket. */
  close(code?: number, reason?: string): void;
  /** Called when the socket opens. */
  onopen: ((event: Event) => void) | null;
  /** Called with each message. */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Called when the socket closes. */
  onclose: ((event: CloseEvent) => void) | null;
  /** Called on an error (a close follows). */
  onerror: ((event: Event) => void) | null;
}

/** A WebSocket constructor: the platform's, or a test's. */
export type SocketConstructor = new (url: string) => SocketLike;

/** How long to wait after failures: from `initialMs`, doubling, at most `maxMs`. */
export interface Backoff {
  /** The first wait, in milliseconds. */
  initialMs: number;
  /** The longest wait, in milliseconds. */
  maxMs: number;
}

/** The default back-off: 1 s, 2 s, 4 s, … 30 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000 };

/**
 * The wait after `failures` failures in a row: half of the doubled delay plus a random half
 * ("equal jitter"), so clients that lost one server do not all come back at once, and no
 * wait is ever near zero.
 */
export function backoffDelay(failures: number, backoff: Backoff): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures);
  return ceiling / 2 + Math.random() * ceiling / 2;
}
