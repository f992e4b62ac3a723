import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from "jose";
import { FakeClock } from "../../core/clock.ts";
import { loadConfig } from "../../core/config.ts";
import { createContext } from "../../core/context.ts";
import { memoryLogger } from "../../core/log.ts";
import { guardKv } from "../../fakes/kv_guard.ts";
import { keys } from "../../kv/keys.ts";
import { readSigningKeys } from "../../kv/signing_keys.ts";
import { serveHarness, startHarness, TEST_SECRET } from "../helpers.ts";

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

Deno.test("signing keys - a fresh token verifies with jose's createRemoteJWKSet against the server", async () => {
  await using h = await startHarness({ clock: new FakeClock(Date.now()) });
  await using served = serveHarness(h);
  const session = await h.signIn("+14155550100");
  const jwks = createRemoteJWKSet(new URL(`${served.url}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(session.access_token, jwks, {
    issuer: h.ctx.config.publicUrl,
    audience: "doorman",
    currentDate: new Date(h.clock.now()),
  });
  assert.equal(protectedHeader.alg, "ES256");
  assert.equal(protectedHeader.typ, "at+jwt");
  assert.equal(typeof protectedHeader.kid, "string");
  assert.equal(payload.sub, session.user.id);
  const sessions = await (await h.get("/api/v1/sessions", { token: session.access_token })).json();
  assert.equal(payload.sid, sessions.sessions[0].id);
  assert.equal(payload.iat, Math.floor(h.clock.now() / 1000));
  assert.equal(payload.exp, payload.iat! + h.ctx.config.accessTokenTtlSeconds);
});

Deno.test("signing keys - the JWKS lists the current key, public members only, cached 5 minutes", async () => {
  await using h = await startHarness();
  const res = await h.get("/.well-known/jwks.json");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "public, max-age=300");
  const body = await res.json();
  assert.equal(body.keys.length, 1);
  const [key] = body.keys;
  assert.deepEqual(Object.keys(key).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
  assert.equal(key.kty, "EC");
  assert.equal(key.crv, "P-256");
  assert.equal(key.alg, "ES256");
  assert.equal(key.use, "sig");
  assert.equal("d" in key, false);

  const session = await h.signIn("+14155550100");
  assert.equal(decodeProtectedHeader(session.access_token).kid, key.kid);
  const { payload } = await jwtVerify(session.access_token, createLocalJWKSet(body), {
    issuer: h.ctx.config.publicUrl,
    audience: "doorman",
    typ: "at+jwt",
    algorithms: ["ES256"],
    currentDate: new Date(h.clock.now()),
  });
  assert.equal(payload.sub, session.user.id);
});

Deno.test("signing keys - ACCESS_TOKEN_ALG=EdDSA signs with Ed25519", async () => {
  await using h = await startHarness({ env: { ACCESS_TOKEN_ALG: "EdDSA" } });
  const body = await (await h.get("/.well-known/jwks.json")).json();
  assert.equal(body.keys[0].kty, "OKP");
  assert.equal(body.keys[0].crv, "Ed25519");
  assert.equal(body.keys[0].alg, "EdDSA");
  assert.equal("y" in body.keys[0], false);
  const session = await h.signIn("+14155550100");
  assert.equal(decodeProtectedHeader(session.access_token).alg, "EdDSA");
  await jwtVerify(session.access_token, createLocalJWKSet(body), {
    currentDate: new Date(h.clock.now()),
  });
  const me = await h.get("/api/v1/me", { token: session.access_token });
  assert.equal(me.status, 200);
  await me.body?.cancel();
});

Deno.test("signing keys - a legacy HS256 token made the old way works on /me until it expires", async () => {
  await using h = await startHarness();
  const session = await h.signIn("+14155550100");
  const claims = payloadOf(session.access_token);
  const iat = Math.floor(h.clock.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: "HS256", typ: "at+jwt" })).toString(
    "base64url",
  );
  const payload = Buffer.from(JSON.stringify({
    sid: claims.sid,
    role: "user",
    token_use: "access",
    iss: h.ctx.config.publicUrl,
    aud: "doorman",
    sub: claims.sub,
    jti: crypto.randomUUID(),
    iat,
    exp: iat + 900,
  })).toString("base64url");
  const input = `${header}.${payload}`;
  const legacy = `${input}.${createHmac("sha256", TEST_SECRET).update(input).digest("base64url")}`;
  const me = await h.get("/api/v1/me", { token: legacy });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).user.id, session.user.id);
  h.clock.advance(901_000);
  const late = await h.get("/api/v1/me", { token: legacy });
  assert.equal(late.status, 401);
  await late.body?.cancel();
});

Deno.test("signing keys - a token whose alg differs from its key's, or with an unknown kid, is 401", async () => {
  await using h = await startHarness();
  const session = await h.signIn("+14155550100");
  const claims = payloadOf(session.access_token);
  const { kid } = decodeProtectedHeader(session.access_token);
  const other = await generateKeyPair("EdDSA");
  const sign = (header: { alg: string; kid: string }) =>
    new SignJWT(claims).setProtectedHeader({ ...header, typ: "at+jwt" }).sign(other.privateKey);
  // Ed25519 key, header naming our ES256 kid with alg EdDSA: the key's alg rules.
  const wrongAlg = await sign({ alg: "EdDSA", kid: kid! });
  const unknownKid = await sign({ alg: "EdDSA", kid: "not-a-key-of-ours" });
  // HS256 signed with the public key's bytes (the classic confusion) is a legacy token: refused.
  const jwk = await exportJWK(other.publicKey);
  const confused = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .sign(new TextEncoder().encode(JSON.stringify(jwk)));
  for (const token of [wrongAlg, unknownKid, confused]) {
    const res = await h.get("/api/v1/me", { token });
    assert.equal(res.status, 401, token);
    assert.equal((await res.json()).error.code, "UNAUTHORIZED");
  }
  const ok = await h.get("/api/v1/me", { token: session.access_token });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("signing keys - two instances starting at once over one KV end with one current key", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const config = loadConfig({ APP_ENV: "test", JWT_SECRET: TEST_SECRET });
    const log = memoryLogger();
    const [a, b] = await Promise.all([
      createContext(config, kv, { log }),
      createContext(config, kv, { log }),
    ]);
    const { ring } = await readSigningKeys(kv);
    assert.equal(ring.keys.length, 1);
    assert.equal(ring.keys[0].state, "current");
    const now = Date.now();
    const [ta, tb] = await Promise.all([
      a.tokens.sign({ sub: "usr_a", sid: "fam_a", role: "user", now }),
      b.tokens.sign({ sub: "usr_b", sid: "fam_b", role: "user", now }),
    ]);
    assert.equal(decodeProtectedHeader(ta).kid, ring.keys[0].kid);
    assert.equal(decodeProtectedHeader(tb).kid, ring.keys[0].kid);
    assert.equal((await b.tokens.verify(ta, now)).sub, "usr_a");
    await a.close();
    await b.close();
  } finally {
    kv.close();
  }
});

Deno.test("signing keys - the private key in KV is sealed: no private member in a dump", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const config = loadConfig({ APP_ENV: "test", JWT_SECRET: TEST_SECRET });
    const ctx = await createContext(config, kv, { log: memoryLogger() });
    const dump: string[] = [];
    for await (const entry of kv.list({ prefix: [] })) {
      dump.push(JSON.stringify(entry.value, (_, v) => typeof v === "bigint" ? String(v) : v));
    }
    const ring = (await kv.get(keys.signingKeys())).value;
    assert.ok(ring, "the ring is stored");
    const text = dump.join("\n");
    assert.doesNotMatch(text, /"d"\s*:/);
    assert.doesNotMatch(text, /PRIVATE/i);
    // And another secret cannot open it: a context with it refuses to start.
    const wrong = loadConfig({
      APP_ENV: "test",
      JWT_SECRET: "another-secret-another-secret-0123456",
    });
    await assert.rejects(() => createContext(wrong, kv, { log: memoryLogger() }), /cannot open/);
    await ctx.close();
  } finally {
    kv.close();
  }
});
