import { TtlCache } from "../cache.ts";
import { countInWindow } from "../limits.ts";

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

/**
 * How close to its cap a shared counter may come before admissions to it go one at a time on
 * fresh reads: far below it, a read up to a second old plus this instance's own count decides.
 */
export const EXACT_HEADROOM = 1_000;

/**
 * One admission at a time per subject: `enter` resolves once the previous holder left, and
 * the returned function leaves (at most once).
 */
export class Gates {
  readonly #tails = new Map<string, Promise<void>>();

  /** Waits for `subject`'s turn; call the returned function to hand it on. */
  async enter(subject: string): Promise<() => void> {
    const previous = this.#tails.get(subject);
    let open!: () => void;
    const mine = new Promise<void>((resolve) => open = resolve);
    this.#tails.set(subject, mine);
    if (previous) await previous;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (this.#tails.get(subject) === mine) this.#tails.delete(subject);
      open();
    };
  }

  /** Subjects with a holder or waiters now (for tests and metrics). */
  get size(): number {
    return this.#tails.size;
  }
}

/** Settles an admission held through a turn, then hands the turn on. */
export function handingOn(
  landed: (committed: boolean) => void,
  leave: () => void,
): (committed: boolean) => void {
  return (committed) => {
    landed(committed);
    leave();
  };
}

/** The answer of `Admissions.reserve`: a held unit, or how long until one would fit. */
export type Reservation =
  | { allowed: true; release: (committed: boolean) => void }
  | { allowed: false; retryAfterMs: number };

/** A shared counter's buckets as read, and when (`performance.now()`) that read began. */
export interface CounterRead {
  buckets: [number, number][];
  readAt: number;
}

/**
 * Admission to a limit counted by a shared, conflict-free sum (code requests and wrong codes
 * per client IP): the counter is read at most once a second per subject, and the requests
 * this instance admitted since that read began — committed or still in flight — are added to
 * it, so one instance is exact. Within `EXACT_HEADROOM` of the cap an instance admits one
 * request of a subject at a time, each on a fresh read that began after its previous one's
 * commit ended: a request can then pass the cap only while another instance's admission is
 * still in flight, so instances sharing one KV overshoot by at most one each.
 */
export class Admissions {
  readonly #inFlight = new Map<string, number>();
  readonly #landed = new Map<string, Landings>();
  readonly #reads: TtlCache<CounterRead>;
  readonly #gates = new Gates();
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

  /**
   * Reserves one of `subject`'s `limit` per `windowMs` at the moment it says yes (no await in
   * between), held until `release` says whether its commit landed. `read` loads the counter's
   * buckets, `bucketMs` wide.
   */
  async reserve(
    subject: string,
    options: {
      limit: number;
      windowMs: number;
      bucketMs: number;
      now: number;
      read: () => Promise<[number, number][]>;
    },
  ): Promise<Reservation> {
    const decide = (read: CounterRead) =>
      countInWindow({ buckets: read.buckets }, {
        limit: options.limit,
        windowMs: options.windowMs,
        now: options.now,
        bucketMs: options.bucketMs,
        unseen: this.unseen(subject, read.readAt),
      });
    const far = (decision: { count: number }) => options.limit - decision.count > EXACT_HEADROOM;
    const cached = this.#reads.get(subject);
    if (cached) {
      const decision = decide(cached);
      if (!decision.allowed) return { allowed: false, retryAfterMs: decision.retryAfterMs };
      if (far(decision)) return { allowed: true, release: this.admit(subject) };
    }
    // Near the cap, or not read lately: one at a time, on a fresh read.
    const leave = await this.#gates.enter(subject);
    try {
      // The one before may have read it just now, and found it far from the cap.
      const warm = this.#reads.get(subject);
      const decision = warm && far(decide(warm))
        ? decide(warm)
        : decide(await this.fresh(subject, options.read));
      if (!decision.allowed) {
        leave();
        return { allowed: false, retryAfterMs: decision.retryAfterMs };
      }
      const landed = this.admit(subject);
      if (far(decision)) {
        leave();
        return { allowed: true, release: landed };
      }
      return { allowed: true, release: handingOn(landed, leave) };
    } catch (error) {
      leave();
      throw error;
    }
  }

  /** Reads the subject's counter now, past the cache, and keeps the read for the next ones. */
  async fresh(subject: string, read: () => Promise<[number, number][]>): Promise<CounterRead> {
    const readAt = performance.now();
    const value = { buckets: await read(), readAt };
    this.#reads.set(subject, value);
    return value;
  }

  /** Waits for `subject`'s turn to admit on a fresh read; call the result to hand it on. */
  enter(subject: string): Promise<() => void> {
    return this.#gates.enter(subject);
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
