/** Where core code gets the time and its timers from, so tests can move time by hand. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** An opaque timer handle (a number for the fake clock, whatever the runtime returns else). */
export type TimerHandle = unknown;

type RuntimeTimer = ReturnType<typeof setTimeout>;

/** The wall clock and the runtime's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as RuntimeTimer),
};

interface FakeTimer {
  at: number;
  fn: () => void;
}

/** A clock that only moves when a test calls `advance()`; due timers fire in time order. */
export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  #timers = new Map<number, FakeTimer>();

  constructor(start: number | string = "2026-11-21T10:00:00.000Z") {
    this.#now = typeof start === "number" ? start : Date.parse(start);
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const handle = this.#next++;
    this.#timers.set(handle, { at: this.#now + Math.max(0, ms), fn });
    // Due already (a deadline armed late, after the time it names): like a runtime timer of
    // 0 ms it fires soon, without waiting for the next `advance()`.
    if (ms <= 0) queueMicrotask(() => this.#fireNow(handle));
    return handle;
  }

  #fireNow(handle: number): void {
    const timer = this.#timers.get(handle);
    if (!timer || timer.at > this.#now) return;
    this.#timers.delete(handle);
    timer.fn();
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let due: [number, FakeTimer] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
    }
    this.#now = target;
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.size;
  }
}
