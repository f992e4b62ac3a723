import { ulid } from "ulid";

/** A new id like `usr_01JD…`: the prefix names the kind, the ULID sorts by creation time. */
export function newId(prefix: "usr" | "otp" | "fam", now: number): string {
  return `${prefix}_${ulid(now)}`;
}
