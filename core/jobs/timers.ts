import type { Clock, TimerHandle } from "../clock.ts";

/**
 * Precise in-process deadlines keyed by name: one clock timer for the earliest, a min-heap
 * for the rest. Scheduling a key again replaces its deadline. Deadlines only make things
 * prompt; what must happen is also found by the cron sweeps, so losing them on restart is fine.
 */
export class Deadlines {
  readonly #clock: Clock;
  readonly #run: (key: string) => void | Promise<void>;
  readonly #onError: (key: string, error: unknown) => void;
  readonly #due = new Map<string, number>();
  #heap: [number, string][] = [];
  #timer: TimerHandle | null = null;
  #timerAt = Infinity;
  #stopped = false;

  constructor(
    clock: Clock,
    run: (key: string) => void | Promise<void>,
    onError: (key: string, error: unknown) => void,
  ) {
    this.#clock = clock;
    this.#run = run;
    this.#onError = onError;
  }

  /** Runs `key` at `at` (ms since the epoch), replacing an earlier deadline of the same key. */
  schedule(key: string, at: number): void {
    if (this.#stopped) return;
    this.#due.set(key, at);
    push(this.#heap, [at, key]);
    this.#arm();
  }

  /**
   * Schedules `key` at `at` only if it has no deadline yet. For deadlines that are re-checked
   * when they fire (presence), this keeps a busy key from growing the heap on every touch.
   */
  ensure(key: string, at: number): void {
    if (!this.#due.has(key)) this.schedule(key, at);
  }

  /** Forgets a key's deadline. */
  cancel(key: string): void {
    this.#due.delete(key);
  }

  /** How many keys wait. */
  get size(): number {
    return this.#due.size;
  }

  /** Cancels everything; nothing runs after this. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#due.clear();
    this.#heap = [];
  }

  #arm(): void {
    // Drop heap entries that were replaced or cancelled.
    while (this.#heap.length > 0 && this.#due.get(this.#heap[0][1]) !== this.#heap[0][0]) {
      pop(this.#heap);
    }
    const next = this.#heap[0]?.[0] ?? Infinity;
    if (next === this.#timerAt) return;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = next;
    if (next === Infinity) return;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, next - this.#clock.now()));
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    while (this.#heap.length > 0 && this.#heap[0][0] <= now) {
      const [at, key] = pop(this.#heap)!;
      if (this.#due.get(key) !== at) continue;
      this.#due.delete(key);
      try {
        Promise.resolve(this.#run(key)).catch((error) => this.#onError(key, error));
      } catch (error) {
        this.#onError(key, error);
      }
    }
    this.#arm();
  }
}

function push(heap: [number, string][], item: [number, string]): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent][0] <= heap[i][0]) break;
    [heap[parent], heap[i]] = [heap[i], heap[parent]];
    i = parent;
  }
}

function pop(heap: [number, string][]): [number, string] | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && heap[l][0] < heap[m][0]) m = l;
      if (r < heap.length && heap[r][0] < heap[m][0]) m = r;
      if (m === i) break;
      [heap[m], heap[i]] = [heap[i], heap[m]];
      i = m;
    }
  }
  return top;
}
