import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { toBase64Url } from "./codes.ts";

/**
 * Refresh tokens that name their session: `rt2.<session id>.<generation>.<mac>`. Nothing is
 * stored per token: the session record holds the current generation and a random salt, and the
 * MAC (HMAC-SHA256 under a key derived from the server secret) proves the server issued it, so
 * a KV dump alone cannot make one. Tokens made before (opaque, stored under their hash in
 * `refresh_tokens`) have no dot, which tells the two apart.
 */

/** The prefix of a refresh token that names its session. */
export const REFRESH_TOKEN_PREFIX = "rt2";

/** The key refresh tokens are MACed with (derived from the server secret; never leaves the process). */
export interface RefreshKey {
  readonly bytes: Uint8Array;
}

/** HKDF-SHA256 of the server secret, with its own `info`: no other key equals it. */
export async function deriveRefreshKey(secret: Uint8Array): Promise<RefreshKey> {
  const base = await crypto.subtle.importKey("raw", new Uint8Array(secret), "HKDF", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("doorman"),
      info: new TextEncoder().encode("refresh token mac v2"),
    },
    base,
    256,
  );
  return { bytes: new Uint8Array(bits) };
}

/** A new session's salt: 128 random bits, base64url. */
export function newRefreshSalt(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

/** The token of `generation` of a session. */
export function makeRefreshToken(
  key: RefreshKey,
  session: { id: string; generation: number; salt: string },
): string {
  const mac = macOf(key, session.id, session.generation, session.salt).toString("base64url");
  return `${REFRESH_TOKEN_PREFIX}.${session.id}.${session.generation}.${mac}`;
}

/** What a token of the new shape says, before its MAC is checked against the session. */
export interface ParsedRefreshToken {
  sessionId: string;
  generation: number;
  /** As written: compared as text, since base64url's last character has bits that decode to nothing. */
  mac: string;
}

const SHAPE = /^rt2\.([A-Za-z0-9_-]{1,64})\.(0|[1-9][0-9]{0,8})\.([A-Za-z0-9_-]{43})$/;

/** Whether a token has the new shape's prefix (else it is an old, stored one). */
export function namesItsSession(token: string): boolean {
  return token.startsWith(`${REFRESH_TOKEN_PREFIX}.`);
}

/** Parses a token of the new shape; null when malformed. */
export function parseRefreshToken(token: string): ParsedRefreshToken | null {
  const match = SHAPE.exec(token);
  if (!match) return null;
  return { sessionId: match[1], generation: Number(match[2]), mac: match[3] };
}

/** Whether the token's MAC is the one the server makes for its generation, in constant time. */
export function refreshMacMatches(
  key: RefreshKey,
  token: ParsedRefreshToken,
  salt: string,
): boolean {
  const expected = Buffer.from(
    macOf(key, token.sessionId, token.generation, salt).toString("base64url"),
  );
  const actual = Buffer.from(token.mac);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function macOf(key: RefreshKey, sessionId: string, generation: number, salt: string): Buffer {
  return createHmac("sha256", key.bytes).update(`${sessionId}.${generation}.${salt}`).digest();
}
