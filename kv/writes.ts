import { userOf } from "./event_log.ts";
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

/** One recorded mutation, as data (so a group commit can merge sums to one key). */
export type Mutation =
  | { type: "set"; key: Deno.KvKey; id: string; value: unknown; expireIn?: number }
  | { type: "delete"; key: Deno.KvKey; id: string }
  | { type: "sum"; key: Deno.KvKey; id: string; n: bigint }
  | { type: "max"; key: Deno.KvKey; id: string; n: bigint };

/**
 * Writes recorded for later: checks and mutations that one request wants committed
 * together, handed to the group committer, which puts them into a shared commit.
 */
export class Writes implements AtomicWrites {
  readonly checks: Deno.AtomicCheck[] = [];
  /** The keys checked, as `keyId` strings (a group commit keeps such writes apart). */
  readonly checkedKeys: string[] = [];
  readonly mutations: Mutation[] = [];
  /** Events these writes log (kv/events.ts `addEvent`): the committer files them in order. */
  readonly logged: StoredEvent[] = [];
  /** About how many bytes the keys written and checked take (KV caps a commit's total). */
  keyBytes = 0;

  check(...checks: Deno.AtomicCheck[]): this {
    this.checks.push(...checks);
    for (const check of checks) this.checkedKeys.push(this.#id(check.key));
    return this;
  }

  set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): this {
    const id = this.#id(key);
    this.mutations.push({ type: "set", key, id, value, expireIn: options?.expireIn });
    return this;
  }

  delete(key: Deno.KvKey): this {
    this.mutations.push({ type: "delete", key, id: this.#id(key) });
    return this;
  }

  sum(key: Deno.KvKey, n: bigint): this {
    this.mutations.push({ type: "sum", key, id: this.#id(key), n });
    return this;
  }

  max(key: Deno.KvKey, n: bigint): this {
    this.mutations.push({ type: "max", key, id: this.#id(key), n });
    return this;
  }

  /** Adds everything `other` recorded (its checks too). */
  include(other: Writes): this {
    this.checks.push(...other.checks);
    this.checkedKeys.push(...other.checkedKeys);
    this.mutations.push(...other.mutations);
    this.logged.push(...other.logged);
    this.keyBytes += other.keyBytes;
    return this;
  }

  /** A key's `keyId`, its size counted in `keyBytes`. */
  #id(key: Deno.KvKey): string {
    const id = keyId(key);
    this.keyBytes += id.length;
    return id;
  }

  /**
   * How many mutations a commit of these carries at most: for each logged event its ordered
   * copy, its log entry and its user's entry, as a commit of its own files them (one event an
   * entry); a shared commit files up to 16 of its events in each.
   */
  get size(): number {
    let size = this.mutations.length;
    for (const event of this.logged) size += userOf(event) ? 3 : 2;
    return size;
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
