import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
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

/** What signing and verifying need: the key, issuer, audience, lifetime and time. */
export interface TokenSettings {
  key: Uint8Array;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
}

const ACCESS_TYPE = "at+jwt";
const TOKEN_USE = "access";

/** Signs an HS256 access token (RFC 9068 `typ`, plus a `token_use` claim). */
export async function signAccessToken(
  settings: TokenSettings,
  claims: { sub: string; sid: string; role: "user" | "admin"; now: number },
): Promise<string> {
  const iat = Math.floor(claims.now / 1000);
  return await new SignJWT({ sid: claims.sid, role: claims.role, token_use: TOKEN_USE })
    .setProtectedHeader({ alg: "HS256", typ: ACCESS_TYPE })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(claims.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + settings.accessTtlSeconds)
    .sign(settings.key);
}

/** Verifies an access token: HS256 only, issuer, audience, type, expiry. Throws 401 otherwise. */
export async function verifyAccessToken(
  settings: TokenSettings,
  token: string,
  now: number,
): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(token, settings.key, {
      algorithms: ["HS256"],
      issuer: settings.issuer,
      audience: settings.audience,
      typ: ACCESS_TYPE,
      currentDate: new Date(now),
      requiredClaims: ["sub", "sid", "jti", "exp"],
    });
    if (
      payload.token_use !== TOKEN_USE || typeof payload.sid !== "string" ||
      (payload.role !== "user" && payload.role !== "admin")
    ) {
      throw new AppError("UNAUTHORIZED", "Access token is not valid.");
    }
    return {
      sub: payload.sub!,
      sid: payload.sid,
      jti: payload.jti!,
      role: payload.role,
      exp: payload.exp!,
    };
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

/** A new opaque refresh token: 256 random bits, base64url. */
export function newRefreshToken(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The stored form of a refresh token (SHA-256, base64url): its 256 bits need no key. */
export async function hashRefreshToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return toBase64Url(new Uint8Array(digest));
}
