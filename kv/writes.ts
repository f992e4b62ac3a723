import type { StoredEvent } from "./stored_event.ts";

/**
 * The write methods of a KV atomic operation that Doorman uses. `Deno.AtomicOperation` has
 * them, and so does `Writes`: helpers that add writes take either, so the same helper serves
 * a commit of its own and a share of a group commit.
 */
export interface AtomicWrites {
  check(...checks: Deno.AtomicCheck[]): this;
  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): this;
  delete(key: Deno.KvKey): this;
  sum(key: Deno.KvKey, n: bigint): this;
  max(key: Deno.KvKey, n: bigint): this;
}

/**
 * Writes recorded for later: checks and mutations that one request wants committed
 * together, handed to the group committer, which replays them into a shared commit.
 */
export class Writes implements AtomicWrites {
  readonly checks: Deno.AtomicCheck[] = [];
  /** The keys checked and written, as `keyId` strings (a group commit keeps them apart). */
  readonly checkedKeys: string[] = [];
  readonly writtenKeys: string[] = [];
  /** Events these writes log (kv/events.ts `addEvent`): the committer files them in order. */
  readonly logged: StoredEvent[] = [];
  readonly #mutations: ((op: Deno.AtomicOperation) => void)[] = [];

  check(...checks: Deno.AtomicCheck[]): this {
    this.checks.push(...checks);
    for (const check of checks) this.checkedKeys.push(keyId(check.key));
    return this;
  }

  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): this {
    return this.#add(key, (op) => op.set(key, value, options));
  }

  delete(key: Deno.KvKey): this {
    return this.#add(key, (op) => op.delete(key));
  }

  sum(key: Deno.KvKey, n: bigint): this {
    return this.#add(key, (op) => op.sum(key, n));
  }

  max(key: Deno.KvKey, n: bigint): this {
    return this.#add(key, (op) => op.max(key, n));
  }

  /** Adds everything `other` recorded (its checks too). */
  include(other: Writes): this {
    this.check(...other.checks);
    this.writtenKeys.push(...other.writtenKeys);
    this.logged.push(...other.logged);
    this.#mutations.push((op) => other.mutate(op));
    this.#count += other.mutations;
    return this;
  }

  /** How many mutations are recorded (an ordered copy of each logged event included). */
  get mutations(): number {
    return this.#count + this.logged.length;
  }

  #count = 0;

  #add(key: Deno.KvKey, mutation: (op: Deno.AtomicOperation) => void): this {
    this.writtenKeys.push(keyId(key));
    this.#mutations.push(mutation);
    this.#count++;
    return this;
  }

  /** Adds the recorded mutations (not the checks) to a real operation. */
  mutate(op: Deno.AtomicOperation): void {
    for (const mutation of this.#mutations) mutation(op);
  }
}

/** A string naming a key exactly (types kept apart: `1` and `"1"` differ). */
export function keyId(key: Deno.KvKey): string {
  let out = "";
  for (const part of key) {
    out += typeof part === "object"
      ? `u:${Array.from(part as Uint8Array).join(",")}`
      : `${(typeof part)[0]}:${String(part)}`;
    out += "\u0000";
  }
  return out;
}
