import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, jwtVerify } from "jose";
import { compactJws, encodedHeader, signerOf } from "../../core/auth/jws.ts";

/*
 * Access tokens are signed by core/auth/jws.ts (P-256 by @noble/curves, Ed25519 by WebCrypto)
 * and verified by jose, as every backend verifies them: each signature must verify, under the
 * right key only, and two signatures of the same claims differ (hedged nonces).
 */

for (const alg of ["ES256", "EdDSA"] as const) {
  Deno.test(`jws - ${alg} tokens verify with jose, and only under their own key`, async () => {
    const pair = await generateKeyPair(alg, { extractable: true });
    const other = await generateKeyPair(alg, { extractable: true });
    const sign = await signerOf(alg, await exportJWK(pair.privateKey));
    const header = encodedHeader({ alg, typ: "at+jwt", kid: "k1" });
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: "usr_x", sid: "fam_y", iat: now, exp: now + 60 };
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => compactJws(header, claims, sign)),
    );
    for (const token of tokens) {
      const { payload, protectedHeader } = await jwtVerify(token, pair.publicKey, {
        algorithms: [alg],
        typ: "at+jwt",
      });
      assert.deepEqual(payload, claims);
      assert.deepEqual(protectedHeader, { alg, typ: "at+jwt", kid: "k1" });
      await assert.rejects(jwtVerify(token, other.publicKey), /signature/i);
    }
    if (alg === "ES256") {
      assert.equal(new Set(tokens).size, tokens.length, "every ES256 signature is fresh");
    }
  });
}

Deno.test("jws - an ES256 signer refuses a key that is not a private P-256 JWK", async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  await assert.rejects(signerOf("ES256", await exportJWK(pair.publicKey)), /private P-256/);
});
