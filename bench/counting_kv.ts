/**
 * A Deno.Kv that counts what goes through it, so the benchmark reports KV commits and reads
 * per request as measured, not as the code is believed to behave. The server under test
 * hands this wrapper to `createContext` instead of the KV it opened.
 */

/** What was counted since the last reset. */
export interface KvCounts {
  /** Commits attempted: `atomic().commit()`, `set`, `delete` and `enqueue` (each one commit). */
  commits: number;
  /** Commits refused by a failed `check` (optimistic conflicts; retried by the caller). */
  conflicts: number;
  /** Commits that threw (e.g. SQLite "database is locked"). */
  commitErrors: number;
  /** Mutations carried by the commits (`set`, `delete`, `sum`, `max`, … in an atomic op). */
  mutations: number;
  /** Read calls: `get`, `getMany` and `list` (a `list` counts once however many pages). */
  reads: number;
  /** Keys asked for by `get`/`getMany`, plus entries returned by `list`. */
  keysRead: number;
}

/** What the server under test answers on `GET /__bench/counters`. */
export type Counters = KvCounts & {
  /** Requests served to the load generator (control requests excluded). */
  requests: number;
};

/** A fresh zeroed count. */
export function zeroCounts(): KvCounts {
  return { commits: 0, conflicts: 0, commitErrors: 0, mutations: 0, reads: 0, keysRead: 0 };
}

const MUTATORS = ["set", "delete", "sum", "min", "max", "mutate", "enqueue"] as const;

/**
 * Wraps `kv` so that every commit and read is counted into `counts` (mutated in place; reset
 * it by assigning zeros to its fields). Methods are bound to the real KV: Deno.Kv keeps its
 * state in private fields, so calling them with a Proxy as `this` would throw.
 */
export function countingKv(kv: Deno.Kv, counts: KvCounts): Deno.Kv {
  const countCommit = async <T>(commit: () => Promise<T>): Promise<T> => {
    counts.commits++;
    try {
      const result = await commit();
      if ((result as { ok?: boolean } | undefined)?.ok === false) counts.conflicts++;
      return result;
    } catch (error) {
      counts.commitErrors++;
      throw error;
    }
  };

  const atomic = (): Deno.AtomicOperation => {
    const op = kv.atomic();
    // Every builder method returns `this`, so patching the instance covers chained calls too.
    for (const name of MUTATORS) {
      const original = op[name].bind(op) as (...args: unknown[]) => Deno.AtomicOperation;
      Object.defineProperty(op, name, {
        value: (...args: unknown[]) => {
          counts.mutations += name === "mutate" ? args.length : 1;
          original(...args);
          return op;
        },
      });
    }
    const commit = op.commit.bind(op);
    Object.defineProperty(op, "commit", { value: () => countCommit(commit) });
    return op;
  };

  const overrides: Partial<Record<keyof Deno.Kv, unknown>> = {
    atomic,
    get: (key: Deno.KvKey, options?: { consistency?: Deno.KvConsistencyLevel }) => {
      counts.reads++;
      counts.keysRead++;
      return kv.get(key, options);
    },
    getMany: (keys: Deno.KvKey[], options?: { consistency?: Deno.KvConsistencyLevel }) => {
      counts.reads++;
      counts.keysRead += keys.length;
      return kv.getMany(keys, options);
    },
    list: (selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
      counts.reads++;
      const iterator = kv.list(selector, options);
      const next = iterator.next.bind(iterator);
      Object.defineProperty(iterator, "next", {
        value: async () => {
          const step = await next();
          if (!step.done) counts.keysRead++;
          return step;
        },
      });
      return iterator;
    },
    set: (key: Deno.KvKey, value: unknown, options?: { expireIn?: number }) => {
      counts.mutations++;
      return countCommit(() => kv.set(key, value, options));
    },
    delete: (key: Deno.KvKey) => {
      counts.mutations++;
      return countCommit(() => kv.delete(key));
    },
    enqueue: (value: unknown, options?: Parameters<Deno.Kv["enqueue"]>[1]) => {
      counts.mutations++;
      return countCommit(() => kv.enqueue(value, options));
    },
  };

  return new Proxy(kv, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof Deno.Kv];
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
