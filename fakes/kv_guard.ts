/**
 * A Deno.Kv that refuses what only the embedded SQLite KV allows, so the suite proves that
 * Doorman runs on every KV backend: Deno Deploy (FoundationDB) and a self-hosted denokv
 * server over KV Connect. The denokv server takes at most 10 checks and 1,000 mutations per
 * atomic operation (the CLI allows 100 checks), and queues are not offered on Deno Deploy.
 * A refused commit throws, and the violation is kept with its stack: code that swallows the
 * error (a background job that logs and goes on) still cannot hide it, because the harness
 * asserts at the end that none was recorded.
 */

import { DECLARED_LIMITS, PORTABLE_LIMITS } from "../kv/group_commit.ts";

/** What a KV Connect server accepts in one atomic operation. */
export const KV_CONNECT_LIMITS = { checks: 10, mutations: 1_000 } as const;

/** A commit or call the guard refused: what was wrong, and where it came from. */
export interface KvViolation {
  message: string;
  stack: string;
}

/** The error a refused commit or call throws. */
export class KvGuardError extends Error {
  constructor(message: string) {
    super(`KV guard violation: ${message}`);
    this.name = "KvGuardError";
  }
}

/** Every violation seen in this process, in order (the preload prints them too). */
export const kvViolations: KvViolation[] = [];

const GUARDED = Symbol("kv guard");

/** Listeners told of each violation as it happens (the subprocess preload prints it). */
const listeners: ((violation: KvViolation) => void)[] = [];

/** Calls `listener` with every violation from now on. */
export function onKvViolation(listener: (violation: KvViolation) => void): void {
  listeners.push(listener);
}

function refuse(message: string): never {
  const error = new KvGuardError(message);
  const violation = { message: error.message, stack: error.stack ?? error.message };
  kvViolations.push(violation);
  for (const listener of listeners) listener(violation);
  throw error;
}

/** `refuse` for a method that returns a promise: a rejected one (the stack is the caller's). */
function rejectWith(message: string): Promise<never> {
  try {
    refuse(message);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Throws if a violation was recorded after the first `since`, listing each with its stack. */
export function assertNoKvViolations(since = 0): void {
  const seen = kvViolations.slice(since);
  if (seen.length === 0) return;
  throw new Error(
    `${seen.length} KV operation(s) would fail on Deno Deploy or denokv:\n` +
      seen.map((v) => v.stack).join("\n\n"),
  );
}

/** Whether `kv` is already wrapped (wrapping twice would count twice). */
export function isGuarded(kv: Deno.Kv): boolean {
  return (kv as unknown as Record<symbol, boolean>)[GUARDED] === true;
}

const MUTATORS = ["set", "delete", "sum", "min", "max", "mutate", "enqueue"] as const;

/**
 * Wraps `kv` so that `atomic()` counts checks and mutations and refuses to commit past the
 * KV Connect limits or with an `enqueue`; `enqueue` and `listenQueue` on the handle are
 * refused outright. Methods are bound to the real KV: Deno.Kv keeps its state in private
 * fields, so calling them with a Proxy as `this` would throw.
 */
export function guardKv(kv: Deno.Kv): Deno.Kv {
  if (isGuarded(kv)) return kv;
  const openAtomic = kv.atomic.bind(kv);

  const atomic = (): Deno.AtomicOperation => {
    const op = openAtomic();
    let checks = 0;
    let mutations = 0;
    let enqueued = false;
    // Every builder method returns `this`, so patching the instance covers chained calls too.
    for (const name of ["check", ...MUTATORS] as const) {
      const original = op[name].bind(op) as (...args: unknown[]) => Deno.AtomicOperation;
      Object.defineProperty(op, name, {
        value: (...args: unknown[]) => {
          if (name === "check") checks += args.length;
          else if (name === "mutate") mutations += args.length;
          else mutations++;
          enqueued ||= name === "enqueue";
          original(...args);
          return op;
        },
      });
    }
    const commit = op.commit.bind(op);
    Object.defineProperty(op, "commit", {
      value: async () => {
        if (enqueued) refuse("an atomic operation enqueues (KV queues are not on Deno Deploy)");
        if (checks > KV_CONNECT_LIMITS.checks) {
          refuse(`an atomic operation has ${checks} checks (at most 10 on KV Connect)`);
        }
        if (mutations > KV_CONNECT_LIMITS.mutations) {
          refuse(`an atomic operation has ${mutations} mutations (at most 1,000)`);
        }
        return await commit();
      },
    });
    return op;
  };

  const overrides: Partial<
    Record<keyof Deno.Kv | typeof GUARDED | typeof DECLARED_LIMITS, unknown>
  > = {
    [GUARDED]: true,
    // Doorman's group committer packs commits up to what the backend takes: this one
    // stands in for KV Connect.
    [DECLARED_LIMITS]: {
      ...PORTABLE_LIMITS,
      maxChecks: KV_CONNECT_LIMITS.checks,
      maxMutations: KV_CONNECT_LIMITS.mutations,
    },
    atomic,
    enqueue: () => rejectWith("kv.enqueue() (KV queues are not on Deno Deploy)"),
    listenQueue: () => rejectWith("kv.listenQueue() (KV queues are not on Deno Deploy)"),
  };

  return new Proxy(kv, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) {
        return overrides[property as keyof typeof overrides];
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * `deno run` arguments that load the guard into a child process before its main module, so
 * every KV it opens is guarded; violations are printed to stderr starting with
 * `KV_GUARD_MARK` (see `kvGuardLines`).
 */
export const KV_GUARD_PRELOAD = [
  "--preload",
  decodeURIComponent(new URL("./kv_guard_preload.ts", import.meta.url).pathname),
];

/** How a child process's stderr line announcing a violation begins. */
export const KV_GUARD_MARK = "KV guard violation";

/** The lines of a child's output that report violations. */
export function kvGuardLines(lines: string[]): string[] {
  return lines.filter((line) => line.includes(KV_GUARD_MARK));
}
