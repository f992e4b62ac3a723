import assert from "node:assert/strict";
import {
  codeMatches,
  deriveCodeKey,
  generateCode,
  hashCode,
  toBase64Url,
} from "../../core/auth/codes.ts";

Deno.test("generateCode() - gives the requested number of digits", () => {
  for (const length of [4, 6, 10]) {
    for (let i = 0; i < 50; i++) assert.match(generateCode(length), new RegExp(`^\\d{${length}}$`));
  }
});

Deno.test("generateCode() - every digit is about equally likely", () => {
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 20_000; i++) {
    for (const digit of generateCode(10)) counts[Number(digit)]++;
  }
  // 200,000 digits: each expected 20,000; a modulo bias (256 % 10) would skew 0-5 by +2.3 %.
  for (const count of counts) assert.ok(Math.abs(count - 20_000) < 600, String(counts));
});

Deno.test("hashCode() - the stored hash matches only its own code and request", async () => {
  const key = await deriveCodeKey(new TextEncoder().encode("k".repeat(32)));
  const stored = await hashCode(key, "otp_a", "123456");
  assert.doesNotMatch(stored, /123456/);
  assert.equal(await codeMatches(key, { requestId: "otp_a", code: "123456", stored }), true);
  assert.equal(await codeMatches(key, { requestId: "otp_a", code: "123457", stored }), false);
  assert.equal(await codeMatches(key, { requestId: "otp_b", code: "123456", stored }), false);
  const other = await deriveCodeKey(new TextEncoder().encode("j".repeat(32)));
  assert.equal(await codeMatches(other, { requestId: "otp_a", code: "123456", stored }), false);
});

/** Base64url as Doorman wrote it before: btoa, then - and _ for + and /, no padding. */
function writtenBefore(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

Deno.test("codes - base64url as stored hashes and tokens were always written", async () => {
  for (let length = 0; length < 40; length++) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    assert.equal(toBase64Url(bytes), writtenBefore(bytes));
    // A view into a larger buffer encodes only what it shows.
    assert.equal(toBase64Url(bytes.subarray(1)), writtenBefore(bytes.slice(1)));
  }
  // A code hashed before still matches.
  const key = await deriveCodeKey(new TextEncoder().encode("k".repeat(32)));
  const stored = await hashCode(key, "otp_1", "123456");
  assert.equal(await codeMatches(key, { requestId: "otp_1", code: "123456", stored }), true);
  assert.equal(await codeMatches(key, { requestId: "otp_1", code: "123457", stored }), false);
});
