import type { Logger } from "./log.ts";

/** Something running that can be stopped. */
export type Stop = () => void | Promise<void>;

/**
 * The background activities of a process, stopped in reverse order of starting: what was
 * started last (the server) stops first, what everything needs (KV) stops last. A stop that
 * fails is logged and the rest still run.
 */
export class Lifecycle {
  readonly #log: Logger;
  readonly #stops: { name: string; stop: Stop }[] = [];
  #closing: Promise<void> | null = null;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Records a running activity and how to stop it. */
  add(name: string, stop: Stop): void {
    this.#stops.push({ name, stop });
  }

  /** Stops everything once, newest first; later calls wait for the same close. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const { name, stop } of this.#stops.splice(0).reverse()) {
        try {
          await stop();
        } catch (error) {
          this.#log.error("stopping failed", { what: name, error: String(error) });
        }
      }
    })();
    return this.#closing;
  }
}

/** Waits for `promise`, but no longer than `ms`; says whether it finished in time. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `onGone` once when a process this one was started under exits (checked every second
 * through /proc): `npx deno task dev` runs the server two processes below npx, and a SIGTERM
 * to npx ends npx alone, leaving the server orphaned and still serving. Returns the stop.
 * Where /proc is missing it watches nothing.
 */
export async function watchAncestors(onGone: () => void): Promise<Stop> {
  const ancestors: number[] = [];
  for (let pid = Deno.ppid; pid > 1 && ancestors.length < 8;) {
    ancestors.push(pid);
    const parent = await parentOf(pid);
    if (parent === null) break;
    pid = parent;
  }
  const timer = setInterval(async () => {
    for (const pid of ancestors) {
      if (!await alive(pid)) {
        clearInterval(timer);
        onGone();
        return;
      }
    }
  }, 1_000);
  return () => clearInterval(timer);
}

async function parentOf(pid: number): Promise<number | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // "pid (comm) state ppid …": the name may hold spaces and brackets, so read after the last.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // A zombie has exited; it only waits for its parent to notice.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * Logs a promise rejection nobody handled — one line: the error's name, message and where it
 * was thrown; of anything else thrown only its type, as it may hold tokens — and keeps the
 * process serving (Deno would end it). Returns the stop.
 */
export function logUnhandledRejections(log: Logger): Stop {
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    log.error("unhandled promise rejection", describeThrown(event.reason));
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  return () => globalThis.removeEventListener("unhandledrejection", onRejection);
}

function describeThrown(reason: unknown): Record<string, string> {
  if (!(reason instanceof Error)) {
    return { error: reason === null ? "null" : typeof reason };
  }
  const at = reason.stack?.split("\n").find((line) => /^\s+at /.test(line))?.trim();
  return {
    error: `${reason.name}: ${reason.message}`.slice(0, 300).replace(/\s+/g, " "),
    ...(at ? { at: at.slice(0, 200) } : {}),
  };
}
