/**
 * The time part of ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds as 10
 * characters of Crockford's base32, so ids sort by creation time. Here, in the lowest layer,
 * because the event log reads its ids' times and core/ids.ts makes the ids.
 */

/** Crockford's base32, as ULIDs spell it. */
export const ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The 10-character time part of a ULID. */
export function encodeTime(ms: number): string {
  let out = "";
  let rest = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    out = ULID_ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** The milliseconds a ULID was made at. */
export function decodeTime(id: string): number {
  let ms = 0;
  for (const char of id.slice(0, 10)) ms = ms * 32 + ULID_ALPHABET.indexOf(char);
  return ms;
}
