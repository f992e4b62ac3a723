/** Timers the client waits with; tests pass fakes. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The platform's timers. */
export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** What the heartbeat needs of `document`: whether the page is shown. */
export interface VisibilityDocument {
  readonly visibilityState: string;
  addEventListener(type: "visibilitychange", listener: () => void): void;
  removeEventListener(type: "visibilitychange", listener: () => void): void;
}

/** The browser's `document`, or null elsewhere (Deno, workers). */
export function pageDocument(): VisibilityDocument | null {
  return (globalThis as { document?: VisibilityDocument }).document ?? null;
}

/** What the client uses of a WebSocket. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
}

/** A WebSocket constructor: the platform's, or a test's. */
export type SocketConstructor = new (url: string) => SocketLike;

/** How long to wait after failures: from `initialMs`, doubling, at most `maxMs`. */
export interface Backoff {
  initialMs: number;
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
