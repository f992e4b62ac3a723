import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * One-time codes: uniform random digits, stored only as an HMAC under a server key, compared
 * in constant time.
 */

/** A code of `length` decimal digits, each uniform (rejection sampling, no modulo bias). */
export function generateCode(length: number): string {
  let code = "";
  const bytes = new Uint8Array(length * 2);
  while (code.length < length) {
    crypto.getRandomValues(bytes);
    for (const byte of bytes) {
      // 250 is the largest multiple of 10 that fits a byte: above it, `% 10` would skew.
      if (byte < 250) code += String(byte % 10);
      if (code.length === length) break;
    }
  }
  return code;
}

/** The key codes are hashed with (derived from the server secret; never leaves the process). */
export interface CodeKey {
  readonly bytes: Uint8Array;
}

/** The HMAC key codes are hashed with: HKDF-SHA256 of the server secret, done once. */
export async function deriveCodeKey(secret: Uint8Array): Promise<CodeKey> {
  const base = await crypto.subtle.importKey("raw", toBuffer(secret), "HKDF", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("doorman"),
      info: new TextEncoder().encode("otp code hmac"),
    },
    base,
    256,
  );
  return { bytes: new Uint8Array(bits) };
}

/**
 * The stored form of a code: HMAC-SHA256 over the request id and the code, base64url.
 * node:crypto's HMAC runs in place, where WebCrypto's costs a round trip through the runtime:
 * on a code request it was the largest share of JavaScript time.
 */
export function hashCode(key: CodeKey, requestId: string, code: string): Promise<string> {
  return Promise.resolve(mac(key, requestId, code).toString("base64url"));
}

/** Whether `code` is the one hashed into `stored`, compared in constant time. */
export function codeMatches(
  key: CodeKey,
  options: { requestId: string; code: string; stored: string },
): Promise<boolean> {
  const expected = Buffer.from(options.stored, "base64url");
  const actual = mac(key, options.requestId, options.code);
  return Promise.resolve(expected.length === actual.length && timingSafeEqual(expected, actual));
}

function mac(key: CodeKey, requestId: string, code: string): Buffer {
  return createHmac("sha256", key.bytes).update(`${requestId}:${code}`).digest();
}

function toBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** Base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/** The bytes of base64url (padded or not). */
export function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(s, "base64url"));
}
