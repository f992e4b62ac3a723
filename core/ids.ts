/**
 * ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds and 80 random bits in
 * Crockford's base32, so ids sort by creation time. Made here rather than with the `ulid`
 * package, which drew one random byte per character: at thousands of sign-ins a second that
 * was several percent of the CPU. Random bytes are drawn in blocks.
 */

import { decodeTime, encodeTime, ULID_ALPHABET as ALPHABET } from "../kv/ulid_time.ts";

export { decodeTime, encodeTime };

const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let offset = 0;

function randomBytes(n: number): Uint8Array {
  if (offset + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}

/** 16 random characters (80 bits). */
function randomPart(): number[] {
  const bytes = randomBytes(16);
  return Array.from(bytes, (b) => b & 31);
}

/** A ULID of `ms`. */
export function ulid(ms: number): string {
  return encodeTime(ms) + randomPart().map((d) => ALPHABET[d]).join("");
}

/**
 * A ULID maker whose ids strictly increase, even within one millisecond (the random part of
 * the last id is incremented): what an ordered log needs.
 */
export function monotonicUlid(): (ms: number) => string {
  let lastMs = -1;
  let last: number[] = [];
  return (ms: number) => {
    if (ms <= lastMs) {
      // Same (or an earlier) millisecond: one more than the last id, in base 32.
      for (let i = last.length - 1; i >= 0; i--) {
        if (last[i] < 31) {
          last[i]++;
          break;
        }
        last[i] = 0;
      }
      ms = lastMs;
    } else {
      lastMs = ms;
      last = randomPart();
    }
    return encodeTime(ms) + last.map((d) => ALPHABET[d]).join("");
  };
}

/** A new id like `usr_01JD…`: the prefix names the kind, the ULID sorts by creation time. */
export function newId(prefix: "usr" | "otp" | "fam" | "dlv" | "aud" | "key", now: number): string {
  return `${prefix}_${ulid(now)}`;
}
