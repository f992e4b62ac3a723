import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";
import { errors as joseErrors, jwtVerify } from "jose";
import { AppError } from "../errors.ts";
import { toBase64Url } from "./codes.ts";

/** The claims Doorman puts into an access token. */
export interface AccessClaims {
  /** User id. */
  sub: string;
  /** Refresh family (sign-in) the token belongs to; revoking it revokes the token. */
  sid: string;
  jti: string;
  role: "user" | "admin";
  exp: number;
}

const ACCESS_TYPE = "at+jwt";
const HEADER = base64UrlJson({ alg: "HS256", typ: ACCESS_TYPE });
const TOKEN_USE = "access";
/** Verified tokens remembered: a client sends the same token with every request. */
const VERIFIED_CACHE_SIZE = 50_000;

/**
 * Signs and checks HS256 access tokens (RFC 9068 `typ`, plus a `token_use` claim). The key is
 * imported once, and a token already verified is remembered until it expires, so the requests
 * that repeat a token (heartbeats, `/me`) skip the HMAC: its signature cannot change, and its
 * expiry is checked against the clock every time.
 */
export class AccessTokens {
  /** The raw secret (kept to compare instances' keys). */
  readonly key: Uint8Array;
  readonly issuer: string;
  readonly audience = "doorman";
  readonly accessTtlSeconds: number;
  readonly #cryptoKey: CryptoKey;
  readonly #verified = new Map<string, AccessClaims>();

  private constructor(
    key: Uint8Array,
    cryptoKey: CryptoKey,
    options: { issuer: string; accessTtlSeconds: number },
  ) {
    this.key = key;
    this.#cryptoKey = cryptoKey;
    this.issuer = options.issuer;
    this.accessTtlSeconds = options.accessTtlSeconds;
  }

  /** Imports the secret once as an HMAC-SHA256 key. */
  static async create(
    key: Uint8Array,
    options: { issuer: string; accessTtlSeconds: number },
  ): Promise<AccessTokens> {
    const cryptoKey = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(key),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return new AccessTokens(key, cryptoKey, options);
  }

  /**
   * A new access token for a sign-in. HS256 is a fixed header, a JSON payload and one HMAC:
   * node:crypto computes it in place, several times faster than a WebCrypto round trip, and
   * `verify` (jose) checks it like any other JWT.
   */
  sign(claims: { sub: string; sid: string; role: "user" | "admin"; now: number }): Promise<string> {
    const iat = Math.floor(claims.now / 1000);
    const payload = base64UrlJson({
      sid: claims.sid,
      role: claims.role,
      token_use: TOKEN_USE,
      iss: this.issuer,
      aud: this.audience,
      sub: claims.sub,
      jti: crypto.randomUUID(),
      iat,
      exp: iat + this.accessTtlSeconds,
    });
    const input = `${HEADER}.${payload}`;
    const mac = createHmac("sha256", this.key).update(input).digest("base64url");
    return Promise.resolve(`${input}.${mac}`);
  }

  /** The claims of a valid token: HS256 only, issuer, audience, type, expiry. 401 otherwise. */
  async verify(token: string, now: number): Promise<AccessClaims> {
    const known = this.#verified.get(token);
    if (known) {
      if (known.exp * 1000 > now) return known;
      this.#verified.delete(token);
      throw new AppError("UNAUTHORIZED", "Access token has expired.");
    }
    const claims = await this.#check(token, now);
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
      // Oldest first: Map keeps insertion order.
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    this.#verified.set(token, claims);
    return claims;
  }

  async #check(token: string, now: number): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#cryptoKey, {
        algorithms: ["HS256"],
        issuer: this.issuer,
        audience: this.audience,
        typ: ACCESS_TYPE,
        currentDate: new Date(now),
        requiredClaims: ["sub", "sid", "jti", "exp"],
      });
      // Ids become KV keys: anything but a short id is not a token of ours, even if signed.
      if (
        payload.token_use !== TOKEN_USE || !isId(payload.sid) || !isId(payload.sub) ||
        !isId(payload.jti, 128) || (payload.role !== "user" && payload.role !== "admin")
      ) {
        throw new AppError("UNAUTHORIZED", "Access token is not valid.");
      }
      return Object.freeze({
        sub: payload.sub!,
        sid: payload.sid,
        jti: payload.jti!,
        role: payload.role,
        exp: payload.exp!,
      });
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof joseErrors.JWTExpired) {
        throw new AppError("UNAUTHORIZED", "Access token has expired.");
      }
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError) {
        throw new AppError("UNAUTHORIZED", "Access token is not valid.");
      }
      throw error;
    }
  }
}

/** A new opaque refresh token: 256 random bits, base64url. */
export function newRefreshToken(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The stored form of a refresh token (SHA-256, base64url): its 256 bits need no key.
 * node:crypto hashes in place; WebCrypto's round trip cost more than the hash.
 */
export function hashRefreshToken(token: string): Promise<string> {
  return Promise.resolve(createHash("sha256").update(token).digest("base64url"));
}

function isId(value: unknown, max = 64): value is string {
  return typeof value === "string" && value.length <= max && /^[A-Za-z0-9_-]+$/.test(value);
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
