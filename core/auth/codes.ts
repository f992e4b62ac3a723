/**
 * One-time codes: uniform random digits, stored only as an HMAC under a server key, compared
 * in constant time (WebCrypto's HMAC verify).
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

/** The HMAC key codes are hashed with, derived from the server secret. */
export async function deriveCodeKey(secret: Uint8Array): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", toBuffer(secret), "HKDF", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("doorman"),
      info: new TextEncoder().encode("otp code hmac"),
    },
    base,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

/** The stored form of a code: HMAC-SHA256 over the request id and the code, base64url. */
export async function hashCode(key: CryptoKey, requestId: string, code: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, message(requestId, code));
  return toBase64Url(new Uint8Array(mac));
}

/** Whether `code` is the one hashed into `stored`, compared in constant time. */
export async function codeMatches(
  key: CryptoKey,
  options: { requestId: string; code: string; stored: string },
): Promise<boolean> {
  const expected = fromBase64Url(options.stored);
  return await crypto.subtle.verify(
    "HMAC",
    key,
    toBuffer(expected),
    message(options.requestId, options.code),
  );
}

function message(requestId: string, code: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${requestId}:${code}`);
}

function toBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** Base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
