/**
 * The one retry policy for Deno KV writes. Two things make a write worth trying again:
 * an optimistic check that lost to another writer (the attempt reads again and decides anew),
 * and SQLite's "database is locked" when another process holds the file's write lock (the
 * commit was not applied). Both are retried with a growing, random back-off; past the budget
 * the caller gets `KvContention`, which the HTTP layer answers as 429 with `Retry-After`.
 */

/** What an attempt returns when its checks failed: read again and try once more. */
export const CONFLICT: unique symbol = Symbol("kv conflict");

/** The result of one attempt: a value, or `CONFLICT`. */
export type Attempt<T> = T | typeof CONFLICT;

/** How long and how often to keep trying. */
export interface RetryBudget {
  /** Attempts before giving up (the first included). */
  attempts: number;
  /** Wall time before giving up, ms. */
  withinMs: number;
}

/** Enough for a key many requests write, and for a second process holding the file lock. */
export const DEFAULT_BUDGET: RetryBudget = { attempts: 40, withinMs: 5_000 };

/** A write that kept losing to others past its budget: busy, not broken. */
export class KvContention extends Error {
  constructor(readonly what: string, readonly attempts: number) {
    super(`Cannot ${what}: still contended after ${attempts} attempts`);
    this.name = "KvContention";
  }
}

/** Whether an error is SQLite's transient "database is locked" (another process writes). */
export function isLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked|database table is locked|SQLITE_BUSY/i
    .test(error.message);
}

/**
 * Runs `attempt` until it returns something other than `CONFLICT`, retrying lost checks and
 * locked databases with back-off. Any other error is thrown at once. `what` names the write
 * in the give-up message ("record presence of usr_…").
 */
export async function retry<T>(
  what: string,
  attempt: (n: number) => Promise<Attempt<T>>,
  budget: RetryBudget = DEFAULT_BUDGET,
): Promise<T> {
  const started = Date.now();
  for (let n = 0;; n++) {
    if (n > 0) {
      if (n >= budget.attempts || Date.now() - started >= budget.withinMs) {
        throw new KvContention(what, n);
      }
      await backOff(n);
    }
    try {
      const result = await attempt(n);
      if (result !== CONFLICT) return result;
    } catch (error) {
      if (!isLocked(error)) throw error;
    }
  }
}

/** Commits `op` built fresh by `build` each time, retrying only a locked database. */
export async function commitUnchecked(
  what: string,
  build: () => Deno.AtomicOperation,
): Promise<Deno.KvCommitResult> {
  return await retry(what, async () => {
    const result = await build().commit();
    if (!result.ok) throw new Error(`Cannot ${what}: an unchecked commit was refused`);
    return result;
  });
}

/**
 * A random pause that grows with each loss, so writers racing for one key spread out
 * instead of colliding again at once. Scheduling, not domain time: the runtime timer.
 */
function backOff(n: number): Promise<void> {
  const ceiling = Math.min(100, 2 ** Math.min(n, 7));
  return new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * ceiling));
}
