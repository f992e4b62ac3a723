import { TtlCache } from "../cache.ts";

/** How long a landing is remembered: longer than a cached read is used. */
const REMEMBER_MS = 5_000;
/** How long one read of a subject's shared counter is used (its landings since are added). */
const READ_TTL_MS = 1_000;

/**
 * Commits that moved one subject's counter, as a queue of times (oldest first) with running
 * totals, so "how much since t" is a binary search: +1 for a request, -1 for one taken back.
 */
class Landings {
  readonly #times: number[] = [];
  /** `#totals[i]` is the sum of the moves up to and including `#times[i]`. */
  readonly #totals: number[] = [];
  #head = 0;

  add(at: number, by: number): void {
    this.#times.push(at);
    this.#totals.push((this.#totals[this.#totals.length - 1] ?? 0) + by);
  }

  /** How much the counter moved at or after `at`. */
  since(at: number): number {
    let lo = this.#head;
    let hi = this.#times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#times[mid] < at) lo = mid + 1;
      else hi = mid;
    }
    const total = this.#totals[this.#totals.length - 1] ?? 0;
    return lo === 0 ? total : total - this.#totals[lo - 1];
  }

  /** Drops moves before `before`; says whether any are left. */
  prune(before: number): boolean {
    while (this.#head < this.#times.length && this.#times[this.#head] < before) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#totals.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#head < this.#times.length;
  }
}

/** A shared counter's buckets as read, and when (`performance.now()`) that read began. */
export interface CounterRead {
  buckets: [number, number][];
  readAt: number;
}

/**
 * Admission to a limit counted by a shared, conflict-free sum (code requests per client IP):
 * the counter is read at most once a second per subject, and the requests this instance
 * admitted since that read began — committed or still in flight — are added to it. So one
 * instance is exact, and instances sharing a KV can only overshoot by what the others
 * admitted within the last second.
 */
export class Admissions {
  readonly #inFlight = new Map<string, number>();
  readonly #landed = new Map<string, Landings>();
  readonly #reads: TtlCache<CounterRead>;
  #landings = 0;

  /** `now` is the injected clock's. */
  constructor(now: () => number) {
    this.#reads = new TtlCache({ ttlMs: READ_TTL_MS, maxEntries: 100_000, now });
  }

  /** The subject's counter, read through the cache (`read` loads it). */
  counted(subject: string, read: () => Promise<[number, number][]>): Promise<CounterRead> {
    return this.#reads.through(subject, async () => {
      const readAt = performance.now();
      return { buckets: await read(), readAt };
    });
  }

  /** How many of `subject`'s admitted requests a read started at `readAt` may have missed. */
  unseen(subject: string, readAt: number): number {
    return (this.#inFlight.get(subject) ?? 0) + (this.#landed.get(subject)?.since(readAt) ?? 0);
  }

  /** How many of `subject`'s requests committed here since a read started at `readAt`. */
  landedSince(subject: string, readAt: number): number {
    return this.#landed.get(subject)?.since(readAt) ?? 0;
  }

  /**
   * Counts one admitted request of `subject` until its commit ends: call the returned
   * function with whether it committed.
   */
  admit(subject: string): (committed: boolean) => void {
    this.#inFlight.set(subject, (this.#inFlight.get(subject) ?? 0) + 1);
    return (committed) => {
      const left = (this.#inFlight.get(subject) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(subject, left);
      else this.#inFlight.delete(subject);
      if (committed) this.#move(subject, 1);
    };
  }

  /** Records that one of `subject`'s counted requests was taken back (its commit landed). */
  takeBack(subject: string): void {
    this.#move(subject, -1);
  }

  #move(subject: string, by: number): void {
    let landings = this.#landed.get(subject);
    if (!landings) this.#landed.set(subject, landings = new Landings());
    landings.add(performance.now(), by);
    if (++this.#landings % 1_000 === 0) this.prune();
  }

  /** Forgets landings older than any read can be (every thousandth landing does it). */
  prune(): void {
    const before = performance.now() - REMEMBER_MS;
    for (const [subject, landings] of this.#landed) {
      if (!landings.prune(before)) this.#landed.delete(subject);
    }
  }
}
