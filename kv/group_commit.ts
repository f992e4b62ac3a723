import { addInstanceEvent } from "./events.ts";
import { isLocked, KvContention } from "./retry.ts";
import type { Writes } from "./writes.ts";

/** One request's share of a commit: its checks, its mutations and the events it logs. */
export type Contribution = Pick<
  Writes,
  "checks" | "checkedKeys" | "writtenKeys" | "mutate" | "mutations" | "logged"
>;

/** What one commit may carry: the denokv server's limits, which every backend accepts. */
export interface CommitLimits {
  maxChecks: number;
  maxMutations: number;
}

const PORTABLE_LIMITS: CommitLimits = { maxChecks: 10, maxMutations: 1000 };
/** A locked database is waited out this long before the contributions fail. */
const LOCKED_BUDGET_MS = 5_000;

interface Pending {
  contribution: Contribution;
  /** The position of its first logged event in this instance's ordered log. */
  position: number;
  resolve(versionstamp: string | null): void;
  reject(error: unknown): void;
}

/**
 * Group commit: while one commit is in flight, the contributions of concurrent requests queue
 * up and go out together in the next one, so a busy instance makes far fewer commits than it
 * serves requests, and an idle one commits at once (no added latency). Each caller is answered
 * only once its writes are durable. Checks stay exact: if a shared commit is refused because
 * some check failed, each of its contributions is committed on its own, so only the ones whose
 * checks really failed hear `null` (read again and decide anew).
 *
 * With an `instance`, every logged event is also filed under the instance's next position:
 * commits go out one at a time, in the order positions are given, so other instances tail
 * this instance's events by position and read each one once.
 */
export class GroupCommitter {
  readonly #kv: Deno.Kv;
  readonly #limits: CommitLimits;
  readonly #grouped: boolean;
  readonly #instance: string | null;
  #nextPosition = 0;
  #queue: Pending[] = [];
  #draining: Promise<void> | null = null;
  #commits = 0;
  #contributions = 0;

  /**
   * `grouped: false` commits every contribution on its own (the benchmark's baseline);
   * `instance` turns on the ordered copy of logged events.
   */
  constructor(
    kv: Deno.Kv,
    options: { grouped?: boolean; limits?: CommitLimits; instance?: string } = {},
  ) {
    this.#kv = kv;
    this.#grouped = options.grouped ?? true;
    this.#limits = options.limits ?? PORTABLE_LIMITS;
    this.#instance = options.instance ?? null;
  }

  /**
   * Commits `contribution` (with others): resolves to the commit's versionstamp once durable,
   * or null when one of its checks failed.
   */
  commit(contribution: Contribution): Promise<string | null> {
    if (contribution.checks.length > this.#limits.maxChecks) {
      throw new RangeError(`A contribution may carry at most ${this.#limits.maxChecks} checks`);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ contribution, position: 0, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Resolves once everything submitted so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Commits made and contributions carried (for `/metrics` and the benchmark). */
  get stats(): { commits: number; contributions: number } {
    return { commits: this.#commits, contributions: this.#contributions };
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#take();
      this.#contributions += batch.length;
      try {
        const versionstamp = await this.#commitTogether(batch);
        if (versionstamp) {
          for (const pending of batch) pending.resolve(versionstamp);
        } else if (batch.length === 1) {
          batch[0].resolve(null);
        } else {
          // Someone's check failed: find out whose, each on its own — one after the other,
          // so positions still commit in order.
          for (const pending of batch) {
            try {
              pending.resolve(await this.#commitTogether([pending]));
            } catch (error) {
              pending.reject(error);
            }
          }
        }
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.#draining = null;
  }

  /**
   * The next batch: as many queued contributions as one commit may carry (at least one), in
   * order, stopping before one that checks a key another in the batch checks or writes (or
   * writes a key another checks). Checks in one commit all see the state before it, so two
   * read-check-writes of one key must never share a commit: each would pass its check, and
   * both would count as done (two guesses spending one attempt).
   */
  #take(): Pending[] {
    if (!this.#grouped) return this.#number(this.#queue.splice(0, 1));
    let checks = 0;
    let mutations = 0;
    let n = 0;
    const checked = new Set<string>();
    const written = new Set<string>();
    for (const { contribution } of this.#queue) {
      checks += contribution.checks.length;
      mutations += contribution.mutations;
      if (n > 0) {
        if (checks > this.#limits.maxChecks || mutations > this.#limits.maxMutations) break;
        if (
          contribution.checkedKeys.some((key) => checked.has(key) || written.has(key)) ||
          (checked.size > 0 && contribution.writtenKeys.some((key) => checked.has(key)))
        ) break;
      }
      for (const key of contribution.checkedKeys) checked.add(key);
      for (const key of contribution.writtenKeys) written.add(key);
      n++;
    }
    return this.#number(this.#queue.splice(0, n));
  }

  /** Gives a batch's logged events their positions, in order. */
  #number(batch: Pending[]): Pending[] {
    for (const pending of batch) {
      pending.position = this.#nextPosition;
      if (this.#instance) this.#nextPosition += pending.contribution.logged.length;
    }
    return batch;
  }

  /** One commit of these contributions; a locked database is retried with back-off. */
  async #commitTogether(batch: Pending[]): Promise<string | null> {
    const started = Date.now();
    for (let attempt = 0;; attempt++) {
      const op = this.#kv.atomic();
      for (const { contribution, position } of batch) {
        if (contribution.checks.length > 0) op.check(...contribution.checks);
        contribution.mutate(op);
        if (this.#instance) {
          contribution.logged.forEach((event, i) => {
            addInstanceEvent(op, this.#instance!, position + i, event);
          });
        }
      }
      try {
        const result = await op.commit();
        this.#commits++;
        return result.ok ? result.versionstamp : null;
      } catch (error) {
        if (!isLocked(error)) throw error;
        if (Date.now() - started > LOCKED_BUDGET_MS) throw new KvContention("commit", attempt + 1);
        await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 20));
      }
    }
  }
}
