import { addLogEntries } from "./event_log.ts";
import { addInstanceEvents } from "./events.ts";
import { isLocked, KvContention } from "./retry.ts";
import { addOutboxEntries, type Outbox, type OutboxEntry } from "./event_webhooks.ts";
import type { StoredEvent } from "./stored_event.ts";
import { type Mutation, Writes } from "./writes.ts";

/** One request's share of a commit: its checks, its mutations and the events it logs. */
export type Contribution = Pick<
  Writes,
  "checks" | "checkedKeys" | "mutations" | "logged" | "size" | "keyBytes"
>;

/** What one commit may carry. */
export interface CommitLimits {
  maxChecks: number;
  maxMutations: number;
  /** The keys' total size (as `keyId` measures it; KV's own cap is 80 KiB on every backend). */
  maxKeyBytes: number;
}

/**
 * What every backend accepts: the denokv server behind KV Connect takes at most 10 checks.
 * A single contribution must always fit these, whatever the backend.
 */
export const PORTABLE_LIMITS: CommitLimits = {
  maxChecks: 10,
  maxMutations: 1000,
  maxKeyBytes: 40_000,
};

/**
 * For the embedded SQLite KV of `deno`, which accepts 100 checks: a commit that carries more
 * requests' checks commits less often (a busy verify path makes a third as many commits). At
 * most 300 mutations: bigger commits, each holding the writer longer, made the slowest answers
 * slower without serving more (a p99 of 40–60 ms rather than under 40 for verify).
 */
export const LOCAL_LIMITS: CommitLimits = {
  ...PORTABLE_LIMITS,
  maxChecks: 100,
  maxMutations: 300,
};

/**
 * Where a KV wrapper says what its backend accepts (a test guard standing in for KV Connect):
 * `kv[DECLARED_LIMITS]` as `CommitLimits`, read by `commitLimitsOf`.
 */
export const DECLARED_LIMITS = Symbol.for("doorman.kv.commitLimits");

/** The limits for `kv`: what it declares, else the embedded KV's when `local`, else portable. */
export function commitLimitsOf(kv: Deno.Kv, local: boolean): CommitLimits {
  const declared = (kv as unknown as Record<symbol, CommitLimits | undefined>)[DECLARED_LIMITS];
  return declared ?? (local ? LOCAL_LIMITS : PORTABLE_LIMITS);
}

/** Bytes an ordered copy of a logged event adds to a commit's keys (its instance and position). */
const INSTANCE_EVENT_KEY_BYTES = 64;

/** A locked database is waited out this long before the contributions fail. */
const LOCKED_BUDGET_MS = 5_000;

interface Pending {
  contribution: Contribution;
  /** Outbox entries of its logged events, decided once when it was submitted. */
  outboxed: OutboxEntry[];
  /** Committed on its own: its batch was refused and it must learn whether it was to blame. */
  alone: boolean;
  /** When it first met a locked database. */
  lockedSince: number | null;
  resolve(versionstamp: string | null): void;
  reject(error: unknown): void;
}

/**
 * Group commit: while commits are in flight, the contributions of concurrent requests queue
 * up and go out together in the next one, so a busy instance makes far fewer commits than it
 * serves requests, and an idle one commits at once (no added latency). Sums to one key merge
 * into one mutation. Each caller is answered only once its writes are durable. Checks stay
 * exact: if a shared commit is refused because some check failed, each of its contributions
 * is committed on its own, so only the ones whose checks really failed hear `null` (read again
 * and decide anew).
 *
 * A commit's logged events go into the event log together, up to 16 in an entry
 * (kv/event_log.ts). With an `instance`, they are also filed under the instance's next
 * position (up to 16 in one entry). KV applies commits in the order they are sent, and
 * positions are given as commits are sent, so other instances tail this instance's events by
 * position and read each one once.
 *
 * With an `outbox`, each logged event that goes out by webhook also gets its outbox entry in
 * the same commit (one more mutation, no read), and the outbox hears of it once it is durable.
 */
export class GroupCommitter {
  readonly #kv: Deno.Kv;
  readonly #limits: CommitLimits;
  readonly #grouped: boolean;
  readonly #instance: string | null;
  readonly #outbox: Outbox | null;
  #nextPosition = 0;
  #queue: Pending[] = [];
  #inFlight = false;
  #idle: (() => void)[] = [];
  #commits = 0;
  #contributions = 0;

  /**
   * `grouped: false` commits every contribution on its own (the benchmark's baseline);
   * `instance` turns on the ordered copy of logged events. One commit is in flight at a time:
   * positions must reach KV in order, and the requests that arrive meanwhile share the next.
   */
  constructor(
    kv: Deno.Kv,
    options: {
      grouped?: boolean;
      limits?: CommitLimits;
      instance?: string;
      outbox?: Outbox;
    } = {},
  ) {
    this.#kv = kv;
    this.#grouped = options.grouped ?? true;
    this.#limits = options.limits ?? PORTABLE_LIMITS;
    this.#instance = options.instance ?? null;
    this.#outbox = options.outbox ?? null;
  }

  /**
   * Commits `contribution` (with others): resolves to the commit's versionstamp once durable,
   * or null when one of its checks failed.
   */
  commit(contribution: Contribution): Promise<string | null> {
    if (contribution.checks.length > PORTABLE_LIMITS.maxChecks) {
      throw new RangeError(`A contribution may carry at most ${PORTABLE_LIMITS.maxChecks} checks`);
    }
    this.#contributions++;
    const outbox = this.#outbox;
    const outboxed = outbox && contribution.logged.length > 0
      ? contribution.logged.flatMap((event) => outbox.entryFor(event) ?? [])
      : [];
    return new Promise((resolve, reject) => {
      this.#queue.push({
        contribution,
        outboxed,
        alone: false,
        lockedSince: null,
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  /** Resolves once everything submitted so far is committed (or failed). */
  flush(): Promise<void> {
    if (this.#queue.length === 0 && !this.#inFlight) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Commits made and contributions carried (for `/metrics` and the benchmark). */
  get stats(): { commits: number; contributions: number } {
    return { commits: this.#commits, contributions: this.#contributions };
  }

  /** Sends the next batch unless a commit is in flight. */
  #pump(): void {
    if (this.#queue.length > 0 && !this.#inFlight) {
      const batch = this.#take();
      this.#inFlight = true;
      // A promise settles once: after a throw nobody foresaw, whoever is still waiting hears it.
      this.#send(batch).catch((error) => batch.forEach((p) => p.reject(error))).finally(() => {
        this.#inFlight = false;
        this.#pump();
        if (this.#queue.length === 0 && !this.#inFlight) {
          for (const resolve of this.#idle.splice(0)) resolve();
        }
      });
    }
  }

  /**
   * The next batch: as many queued contributions as one commit may carry (at least one), in
   * order, stopping before one that checks a key another in the batch checks or writes (or
   * writes a key another checks). Checks in one commit all see the state before it, so two
   * read-check-writes of one key must never share a commit: each would pass its check, and
   * both would count as done (two guesses spending one attempt).
   */
  #take(): Pending[] {
    const first = this.#queue[0];
    if (!this.#grouped || first.alone) return this.#queue.splice(0, 1);
    let checks = 0;
    let size = 0;
    let keyBytes = 0;
    let n = 0;
    const checked = new Set<string>();
    const written = new Set<string>();
    for (const pending of this.#queue) {
      const { contribution } = pending;
      if (pending.alone) break;
      checks += contribution.checks.length;
      // Outbox entries, and the pending count they move (one merged sum per commit).
      size += contribution.size + pending.outboxed.length + (pending.outboxed.length > 0 ? 1 : 0);
      keyBytes += contribution.keyBytes +
        (contribution.logged.length + pending.outboxed.length) * INSTANCE_EVENT_KEY_BYTES;
      if (n > 0) {
        if (
          checks > this.#limits.maxChecks || size > this.#limits.maxMutations ||
          keyBytes > this.#limits.maxKeyBytes
        ) break;
        if (contribution.checkedKeys.some((key) => checked.has(key) || written.has(key))) break;
        if (checked.size > 0 && contribution.mutations.some((m) => checked.has(m.id))) break;
      }
      for (const key of contribution.checkedKeys) checked.add(key);
      for (const mutation of contribution.mutations) written.add(mutation.id);
      n++;
    }
    return this.#queue.splice(0, n);
  }

  /**
   * Sends one commit of `batch` and settles it (or requeues it, at the front). Never rejects:
   * whatever goes wrong is some caller's answer, so none waits forever.
   */
  async #send(batch: Pending[]): Promise<void> {
    let result: Deno.KvCommitResult | Deno.KvCommitError;
    let outboxed: OutboxEntry[];
    try {
      ({ result, outboxed } = await this.#commitOnce(batch));
    } catch (error) {
      await this.#failed(batch, error);
      return;
    }
    if (result.ok) {
      const { versionstamp } = result;
      for (const pending of batch) pending.resolve(versionstamp);
      if (outboxed.length > 0) {
        this.#outbox!.committed(outboxed.map((entry) => ({ entry, versionstamp })));
      }
    } else if (batch.length === 1) {
      batch[0].resolve(null);
    } else {
      // Someone's check failed: find out whose, each on its own.
      this.#split(batch);
    }
  }

  /**
   * Builds one atomic operation of `batch` and commits it. Building may throw too (a value
   * that cannot be cloned, an `expireIn` KV refuses): such a write fails like a refused commit.
   */
  async #commitOnce(
    batch: Pending[],
  ): Promise<{ result: Deno.KvCommitResult | Deno.KvCommitError; outboxed: OutboxEntry[] }> {
    const op = this.#kv.atomic();
    const sums = new Map<string, Mutation & { type: "sum" }>();
    const add = (mutation: Mutation) => {
      if (mutation.type === "sum") {
        const merged = sums.get(mutation.id);
        sums.set(mutation.id, merged ? { ...merged, n: merged.n + mutation.n } : mutation);
      } else apply(op, mutation);
    };
    const outboxed = batch.flatMap((pending) => pending.outboxed);
    // Its pending count merges with sums to that key in the batch (deliveries finishing).
    if (outboxed.length > 0) addOutboxEntries(new Writes(), outboxed).mutations.forEach(add);
    const logged: StoredEvent[] = [];
    for (const { contribution } of batch) {
      if (contribution.checks.length > 0) op.check(...contribution.checks);
      for (const mutation of contribution.mutations) add(mutation);
      logged.push(...contribution.logged);
    }
    // Sums wrap around at 2^64, as a single `sum` does: taking one back is adding 2^64 - 1.
    for (const sum of sums.values()) op.sum(sum.key, sum.n & 0xffff_ffff_ffff_ffffn);
    // A contribution on its own may be one refused as too large: one event an entry then.
    const perEntry = batch[0].alone ? 1 : undefined;
    if (logged.length > 0) addLogEntries(op, logged, perEntry);
    if (this.#instance && logged.length > 0) {
      // Positions are taken last, so a write refused while being built skips none.
      this.#nextPosition += addInstanceEvents(
        op,
        this.#instance,
        this.#nextPosition,
        logged,
        perEntry,
      );
    }
    const result = await op.commit();
    this.#commits++;
    return { result, outboxed };
  }

  /**
   * A commit of `batch` threw, so nothing of it was written. A locked database is waited
   * out; otherwise a shared batch is split, each contribution committed on its own, and only
   * one that fails by itself hears the error (its own).
   */
  async #failed(batch: Pending[], error: unknown): Promise<void> {
    if (isLocked(error)) {
      // Another process holds the file: wait a little, then try the same batch again (its
      // events take new positions then: nothing of it was written).
      const now = Date.now();
      const expired = batch.filter((p) => now - (p.lockedSince ??= now) > LOCKED_BUDGET_MS);
      for (const pending of expired) pending.reject(new KvContention("commit", 0));
      await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 20));
      this.#queue.unshift(...batch.filter((p) => !expired.includes(p)));
    } else if (batch.length > 1 || (tooLarge(error) && !batch[0].alone)) {
      // Bigger than KV takes (values are not measured ahead), or one write KV refuses: on
      // its own, a lone too-large contribution also files its events one an entry.
      this.#split(batch);
    } else {
      batch[0].reject(error);
    }
  }

  /** Puts `batch` back at the front, each contribution to be committed on its own. */
  #split(batch: Pending[]): void {
    for (const pending of batch) pending.alone = true;
    this.#queue.unshift(...batch);
  }
}

/** KV refused a commit for its size or its number of checks or mutations (before writing). */
function tooLarge(error: unknown): boolean {
  return error instanceof TypeError && /too large|too many/i.test(error.message);
}

function apply(op: Deno.AtomicOperation, mutation: Mutation): void {
  switch (mutation.type) {
    case "set":
      if (mutation.expireIn === undefined) op.set(mutation.key, mutation.value);
      else op.set(mutation.key, mutation.value, { expireIn: mutation.expireIn });
      return;
    case "delete":
      op.delete(mutation.key);
      return;
    case "max":
      op.max(mutation.key, mutation.n);
      return;
  }
}
