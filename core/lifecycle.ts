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
