/**
 * Compact JWS signing of access tokens with the current signing key. jose verifies them (here
 * and in every backend); signing is done here because its cost is the sign-in's largest single
 * item: Deno's WebCrypto takes about 600 µs of CPU for one P-256 (ES256) signature, against
 * about 250 µs for the audited @noble/curves implementation run in JavaScript and 45 µs for an
 * Ed25519 one (bench/RESULTS.md). Signatures are hedged (RFC 6979 with fresh randomness).
 */
import { p256 } from "@noble/curves/nist.js";
import { importJWK, type JWK } from "jose";
import type { SigningAlg } from "../../kv/signing_keys.ts";
import { fromBase64Url, toBase64Url } from "./codes.ts";

/** The `typ` of Doorman's access tokens (RFC 9068). */
export const ACCESS_TOKEN_TYPE = "at+jwt";

/** Signs a JWS signing input (`header.payload`): the raw signature (r‖s for ES256). */
export type Signer = (input: Uint8Array<ArrayBuffer>) => Uint8Array | Promise<Uint8Array>;

// The base point's table, made once: each signature's multiplication then takes a third less.
p256.Point.BASE.precompute(8);

/** The signer of a private JWK of `alg`. */
export async function signerOf(alg: SigningAlg, privateJwk: JWK): Promise<Signer> {
  if (alg === "ES256") {
    if (privateJwk.crv !== "P-256" || typeof privateJwk.d !== "string") {
      throw new Error("an ES256 signing key must be a private P-256 JWK");
    }
    const secret = fromBase64Url(privateJwk.d);
    // `sign` hashes with SHA-256 (prehash) and answers the 64-byte compact form JWS wants.
    return (input) => p256.sign(input, secret, { extraEntropy: true });
  }
  const key = await importJWK(privateJwk, alg) as CryptoKey;
  return async (input) => new Uint8Array(await crypto.subtle.sign("Ed25519", key, input));
}

const encoder = new TextEncoder();

/** The protected header of a key's tokens, encoded once per key. */
export function encodedHeader(header: Record<string, string>): string {
  return toBase64Url(encoder.encode(JSON.stringify(header)));
}

/** `header.payload.signature` of `claims` under an encoded header. */
export async function compactJws(
  header: string,
  claims: Record<string, unknown>,
  sign: Signer,
): Promise<string> {
  const input = `${header}.${toBase64Url(encoder.encode(JSON.stringify(claims)))}`;
  return `${input}.${toBase64Url(await sign(encoder.encode(input)))}`;
}
