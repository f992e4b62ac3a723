import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import {
  readSigningKeys,
  type SigningAlg,
  type SigningKeyRing,
  type StoredSigningKey,
  updateSigningKeys,
} from "../../kv/signing_keys.ts";
import { fromBase64Url, toBase64Url } from "./codes.ts";
import { ACCESS_TOKEN_TYPE, encodedHeader, type Signer, signerOf } from "./jws.ts";

/** The key that signs new access tokens: its id, algorithm, encoded JWS header and signer. */
export interface CurrentSigningKey {
  kid: string;
  alg: SigningAlg;
  header: string;
  sign: Signer;
}

/** A public key as `/.well-known/jwks.json` lists it. */
export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  y?: string;
  kid: string;
  alg: SigningAlg;
  use: "sig";
}

/** What a token's `kid` leads to: the key's algorithm and public key, while it may verify. */
export interface VerifyingKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
}

/**
 * Rereads of the ring at most this often: a revocation on another instance is felt within it
 * (plus one KV read, hence under a second).
 */
const REFRESH_MS = 900;

/**
 * The signing keys as this process uses them: read from KV once, then again at most once a
 * second (revocations elsewhere are felt within it, and a `kid` minted by another instance's
 * new key is found). Private keys are stored sealed with AES-GCM under a key derived (HKDF)
 * from `JWT_SECRET`, so a KV dump alone opens none; only the current key is ever unsealed.
 */
export class SigningKeys {
  readonly #kv: Deno.Kv;
  readonly #seal: CryptoKey;
  readonly #alg: SigningAlg;
  readonly #onRevoked: (kid: string) => void;
  #ring: SigningKeyRing = { keys: [] };
  #loadedAt = -Infinity;
  #loading: Promise<void> | null = null;
  /** Bumped by `adopt`: a reread that began before it would bring back an older ring. */
  #adopted = 0;
  #public = new Map<string, VerifyingKey>();
  #signing: CurrentSigningKey | null = null;

  private constructor(
    kv: Deno.Kv,
    seal: CryptoKey,
    alg: SigningAlg,
    onRevoked: (kid: string) => void,
  ) {
    this.#kv = kv;
    this.#seal = seal;
    this.#alg = alg;
    this.#onRevoked = onRevoked;
  }

  /** Opens the ring; on a first start creates a key and makes it current at once. */
  static async open(options: {
    kv: Deno.Kv;
    secret: Uint8Array;
    alg: SigningAlg;
    now: number;
    onRevoked?: (kid: string) => void;
  }): Promise<SigningKeys> {
    const seal = await deriveSealKey(options.secret);
    const ring = new SigningKeys(options.kv, seal, options.alg, options.onRevoked ?? (() => {}));
    // Two instances starting together: the optimistic check lets one create it; the other,
    // reading again, finds that key current and keeps it.
    const { ring: stored } = await updateSigningKeys(
      options.kv,
      "create the first signing key",
      async (current) => {
        if (current.keys.some((k) => k.state === "current")) return { result: null };
        const key = await ring.generate(options.alg, options.now);
        key.state = "current";
        key.activatedAt = options.now;
        return { ring: { keys: [...current.keys, key] }, result: null };
      },
    );
    await ring.#install(stored);
    return ring;
  }

  /** The algorithm new keys get. */
  get alg(): SigningAlg {
    return this.#alg;
  }

  /** The stored keys as last read. */
  get stored(): readonly StoredSigningKey[] {
    return this.#ring.keys;
  }

  /** The key that signs now (unsealed once per activation), with its tokens' encoded header. */
  signing(): CurrentSigningKey {
    if (!this.#signing) throw new Error("no current signing key");
    return this.#signing;
  }

  /**
   * The key a token names, while it may verify (standby, current, previous); `undefined` for a
   * revoked or unknown `kid`. An unknown `kid` rereads the ring, at most once a second.
   */
  async verifying(kid: string): Promise<VerifyingKey | undefined> {
    const known = this.#public.get(kid);
    if (known) return known;
    await this.refresh();
    return this.#public.get(kid);
  }

  /**
   * Rereads the ring when the last read is a second old; returns at once (no promise) while
   * it is fresh, so the hot path pays one comparison.
   */
  refresh(): Promise<void> | undefined {
    if (this.#loading) return this.#loading;
    if (performance.now() - this.#loadedAt < REFRESH_MS) return undefined;
    const adopted = this.#adopted;
    this.#loading = readSigningKeys(this.#kv)
      .then(({ ring }) => adopted === this.#adopted ? this.#install(ring) : undefined)
      .finally(() => this.#loading = null);
    return this.#loading;
  }

  /** Takes a ring just written by this process (no wait for the next reread). */
  async adopt(ring: SigningKeyRing): Promise<void> {
    this.#adopted++;
    await this.#install(ring);
  }

  /** The public keys a verifier may meet: current, standby, previous still within `until`. */
  jwks(now: number, tokenTtlMs: number): PublicJwk[] {
    return this.#ring.keys
      .filter((k) =>
        k.state === "current" || k.state === "standby" ||
        (k.state === "previous" && (k.retiredAt ?? 0) + tokenTtlMs > now)
      )
      .map((k) => publicJwkOf(k));
  }

  /** A new key pair of `alg`, its private part sealed; not yet stored. */
  async generate(alg: SigningAlg, now: number): Promise<StoredSigningKey> {
    const pair = await generateKeyPair(alg, { extractable: true });
    const [publicJwk, privateJwk] = await Promise.all([
      exportJWK(pair.publicKey),
      exportJWK(pair.privateKey),
    ]);
    const kid = toBase64Url(crypto.getRandomValues(new Uint8Array(12)));
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(kid) },
      this.#seal,
      new TextEncoder().encode(JSON.stringify(privateJwk)),
    );
    const { kty, crv, x, y } = publicJwk;
    return {
      kid,
      alg,
      state: "standby",
      createdAt: now,
      activatedAt: null,
      retiredAt: null,
      publicJwk: Object.fromEntries(
        Object.entries({ kty, crv, x, y }).filter(([, v]) => typeof v === "string"),
      ) as Record<string, string>,
      sealed: { iv: toBase64Url(iv), data: toBase64Url(new Uint8Array(data)) },
    };
  }

  async #install(ring: SigningKeyRing): Promise<void> {
    const next = new Map<string, VerifyingKey>();
    for (const k of ring.keys) {
      if (k.state === "revoked") continue;
      const had = this.#public.get(k.kid);
      next.set(k.kid, had ?? { kid: k.kid, alg: k.alg, key: await importPublic(k) });
    }
    const current = ring.keys.find((k) => k.state === "current");
    if (current && this.#signing?.kid !== current.kid) {
      this.#signing = {
        kid: current.kid,
        alg: current.alg,
        header: encodedHeader({ alg: current.alg, typ: ACCESS_TOKEN_TYPE, kid: current.kid }),
        sign: await signerOf(current.alg, await this.#unseal(current)),
      };
    }
    const gone = [...this.#public.keys()].filter((kid) => !next.has(kid));
    this.#ring = ring;
    this.#public = next;
    this.#loadedAt = performance.now();
    for (const kid of gone) this.#onRevoked(kid);
  }

  async #unseal(key: StoredSigningKey): Promise<JWK> {
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: fromBase64Url(key.sealed.iv),
          additionalData: new TextEncoder().encode(key.kid),
        },
        this.#seal,
        fromBase64Url(key.sealed.data),
      );
    } catch {
      throw new Error(
        `JWT_SECRET cannot open signing key ${key.kid}: it was sealed under another secret`,
      );
    }
    return JSON.parse(new TextDecoder().decode(plain));
  }
}

/** The JWKS form of a stored key: public members only, whatever was stored. */
export function publicJwkOf(k: StoredSigningKey): PublicJwk {
  const { kty, crv, x, y } = k.publicJwk;
  return { kty, crv, x, ...(y ? { y } : {}), kid: k.kid, alg: k.alg, use: "sig" };
}

async function importPublic(k: StoredSigningKey): Promise<CryptoKey> {
  const { kty, crv, x, y } = k.publicJwk;
  return await importJWK({ kty, crv, x, ...(y ? { y } : {}) }, k.alg) as CryptoKey;
}

/** AES-256-GCM key for sealing private keys: HKDF-SHA-256 of the master secret. */
async function deriveSealKey(secret: Uint8Array): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", new Uint8Array(secret), "HKDF", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("doorman"),
      info: new TextEncoder().encode("doorman signing keys v1"),
    },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}
