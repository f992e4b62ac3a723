import { createHash } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from "jose";
import type { SigningAlg } from "../../kv/signing_keys.ts";
import { AppError } from "../errors.ts";
import { ACCESS_TOKEN_TYPE, compactJws } from "./jws.ts";
import { SigningKeys } from "./signing_keys.ts";

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

const TOKEN_USE = "access";
/**
 * Verified tokens remembered: a client sends the same token with every request, and an ECDSA
 * check costs far more than the map lookup.
 */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Signs access tokens with the current asymmetric key (`kid` in the header, RFC 9068 `typ`)
 * and checks them against the key ring; tokens signed with the HS256 master secret before the
 * upgrade are still accepted until they expire, none is made any more. A token once verified
 * is remembered until it expires (its signature cannot change; its expiry is checked every
 * time), and forgotten at once when its key is revoked.
 */
export class AccessTokens {
  /** The raw master secret (kept to compare instances' keys). */
  readonly key: Uint8Array;
  readonly issuer: string;
  readonly audience = "doorman";
  readonly accessTtlSeconds: number;
  /** The signing keys (read from KV, refreshed at most once a second). */
  keys!: SigningKeys;
  readonly #legacyKey: CryptoKey;
  readonly #verified = new Map<string, { claims: AccessClaims; kid: string | null }>();

  private constructor(
    key: Uint8Array,
    legacyKey: CryptoKey,
    options: { issuer: string; accessTtlSeconds: number },
  ) {
    this.key = key;
    this.#legacyKey = legacyKey;
    this.issuer = options.issuer;
    this.accessTtlSeconds = options.accessTtlSeconds;
  }

  /** Opens the signing keys (creating the first one) and the legacy HMAC key. */
  static async create(
    key: Uint8Array,
    options: {
      issuer: string;
      accessTtlSeconds: number;
      kv: Deno.Kv;
      alg: SigningAlg;
      now: number;
    },
  ): Promise<AccessTokens> {
    const legacyKey = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(key),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const tokens = new AccessTokens(key, legacyKey, options);
    tokens.keys = await SigningKeys.open({
      kv: options.kv,
      secret: key,
      alg: options.alg,
      now: options.now,
      onRevoked: (kid) => tokens.#forgetKey(kid),
    });
    return tokens;
  }

  /** A new access token for a sign-in, signed by the current key. */
  async sign(
    claims: { sub: string; sid: string; role: "user" | "admin"; now: number },
  ): Promise<string> {
    const stale = this.keys.refresh();
    if (stale) await stale;
    const signing = this.keys.signing();
    const iat = Math.floor(claims.now / 1000);
    return await compactJws(signing.header, {
      sid: claims.sid,
      role: claims.role,
      token_use: TOKEN_USE,
      iss: this.issuer,
      aud: this.audience,
      sub: claims.sub,
      jti: crypto.randomUUID(),
      iat,
      exp: iat + this.accessTtlSeconds,
    }, signing.sign);
  }

  /** The claims of a valid token: known key, its alg, issuer, audience, type, expiry. 401 otherwise. */
  async verify(token: string, now: number): Promise<AccessClaims> {
    // At most once a second: how a revocation on another instance reaches this one.
    const stale = this.keys.refresh();
    if (stale) await stale;
    const known = this.#verified.get(token);
    if (known) {
      if (known.claims.exp * 1000 > now) return known.claims;
      this.#verified.delete(token);
      throw new AppError("UNAUTHORIZED", "Access token has expired.");
    }
    const checked = await this.#check(token, now);
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
      // Oldest first: Map keeps insertion order.
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    this.#verified.set(token, checked);
    return checked.claims;
  }

  #forgetKey(kid: string): void {
    for (const [token, entry] of this.#verified) {
      if (entry.kid === kid) this.#verified.delete(token);
    }
  }

  async #check(token: string, now: number): Promise<{ claims: AccessClaims; kid: string | null }> {
    try {
      const header = decodeProtectedHeader(token);
      let key: CryptoKey;
      let alg: string;
      let kid: string | null = null;
      if (header.alg === "HS256") {
        // Signed with the master secret before the upgrade: accepted until it expires.
        key = this.#legacyKey;
        alg = "HS256";
      } else {
        if (!isId(header.kid)) throw new AppError("UNAUTHORIZED", "Access token is not valid.");
        const verifying = await this.keys.verifying(header.kid);
        if (!verifying) {
          throw new AppError("UNAUTHORIZED", "Access token is signed by an unknown key.");
        }
        ({ key, alg, kid } = verifying);
      }
      const { payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        issuer: this.issuer,
        audience: this.audience,
        typ: ACCESS_TOKEN_TYPE,
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
      const claims = Object.freeze({
        sub: payload.sub!,
        sid: payload.sid,
        jti: payload.jti!,
        role: payload.role,
        exp: payload.exp!,
      });
      return { claims, kid };
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

/**
 * The stored form of an opaque token (SHA-256, base64url): its 256 bits need no key. Refresh
 * tokens of before `rt2` were stored so; dashboard sessions, demo links and socket tickets are.
 * node:crypto hashes in place; WebCrypto's round trip cost more than the hash.
 */
export function hashRefreshToken(token: string): Promise<string> {
  return Promise.resolve(createHash("sha256").update(token).digest("base64url"));
}

function isId(value: unknown, max = 64): value is string {
  return typeof value === "string" && value.length <= max && /^[A-Za-z0-9_-]+$/.test(value);
}
