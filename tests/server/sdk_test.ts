import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { createDoormanServer, DoormanError, type DoormanServer } from "../../server/mod.ts";
import { type Harness, serveHarness, startHarness } from "../helpers.ts";
import { ADMIN, call } from "../routes/admin_helpers.ts";
import { createKey, KEYS } from "../routes/api_key_helpers.ts";

const ENV = {
  ADMIN_PHONES: ADMIN,
  OTP_RESEND_COOLDOWN_SECONDS: "0",
  OTP_RATE_LIMIT_PER_HOUR: "1000",
  OTP_IP_RATE_LIMIT_PER_HOUR: "1000",
};
const JWKS_PATH = "/.well-known/jwks.json";

/** The SDK against `url`, on the harness's clock, counting its requests per path. */
function sdk(h: Harness, url: string, apiKey?: string) {
  const fetched: string[] = [];
  const server: DoormanServer = createDoormanServer({
    baseUrl: `${url}/`,
    apiKey,
    issuer: h.ctx.config.publicUrl,
    now: () => h.clock.now(),
    fetch: (to, init) => {
      fetched.push(new URL(to).pathname);
      return fetch(to, init);
    },
  });
  return { server, jwksFetches: () => fetched.filter((p) => p === JWKS_PATH).length };
}

async function rejects(promise: Promise<unknown>, status: number, code: string) {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof DoormanError, `expected a DoormanError, got ${error}`);
  assert.equal(error.status, status, error.message);
  assert.equal(error.code, code);
  return error;
}

function withPayload(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  change(claims);
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

Deno.test("server SDK - verifies real tokens offline, fetching the JWKS once for many", async () => {
  await using h = await startHarness({ env: ENV });
  await using served = serveHarness(h);
  const { server, jwksFetches } = sdk(h, served.url);
  const sessions = await Promise.all(
    ["+14155550100", "+14155550101", "+14155550102"].map((phone) => h.signIn(phone)),
  );
  // In parallel, cold: one fetch shared by every caller.
  const claims = await Promise.all(
    sessions.flatMap((s) => Array(5).fill(s.access_token)).map((t) => server.verifyAccessToken(t)),
  );
  assert.equal(jwksFetches(), 1);
  assert.deepEqual(claims.map((c) => c.sub), sessions.flatMap((s) => Array(5).fill(s.user.id)));
  const [first] = claims;
  assert.equal(first.iss, h.ctx.config.publicUrl);
  assert.equal(first.aud, "doorman");
  assert.equal(first.role, "user");
  assert.equal(first.exp - first.iat, h.ctx.config.accessTokenTtlSeconds);
  const listed = await (await h.get("/api/v1/sessions", { token: sessions[0].access_token }))
    .json();
  assert.equal(first.sid, listed.sessions[0].id);
  // Still cached a minute later; after the JWKS max-age (300 s) it is fetched again.
  h.clock.advance(60_000);
  await server.verifyAccessToken((await h.signIn("+14155550103")).access_token);
  assert.equal(jwksFetches(), 1);
  h.clock.advance(300_000);
  await server.verifyAccessToken((await h.signIn("+14155550104")).access_token);
  assert.equal(jwksFetches(), 2);
});

Deno.test("server SDK - EdDSA tokens verify too", async () => {
  await using h = await startHarness({ env: { ...ENV, ACCESS_TOKEN_ALG: "EdDSA" } });
  await using served = serveHarness(h);
  const { server } = sdk(h, served.url);
  const session = await h.signIn("+14155550100");
  assert.equal((await server.verifyAccessToken(session.access_token)).sub, session.user.id);
});

Deno.test("server SDK - an unknown kid refetches the JWKS once, then is refused with 401", async () => {
  await using h = await startHarness({ env: { ...ENV, SIGNING_KEY_PUBLISH_SECONDS: "0" } });
  await using served = serveHarness(h);
  const { server, jwksFetches } = sdk(h, served.url);
  const session = await h.signIn("+14155550100");
  await server.verifyAccessToken(session.access_token);
  assert.equal(jwksFetches(), 1);
  // A well-formed token, signed by a key Doorman never published.
  const { privateKey } = await generateKeyPair("ES256");
  const iat = Math.floor(h.clock.now() / 1000);
  const forged = await new SignJWT({ sid: "fam_x", role: "admin", token_use: "access" })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "not-a-doorman-key" })
    .setIssuer(h.ctx.config.publicUrl).setAudience("doorman").setSubject(session.user.id)
    .setJti(crypto.randomUUID()).setIssuedAt(iat).setExpirationTime(iat + 900)
    .sign(privateKey);
  // Many at once: one refetch between them.
  const errors = await Promise.all(
    Array.from({ length: 5 }, () => rejects(server.verifyAccessToken(forged), 401, "UNAUTHORIZED")),
  );
  assert.match(errors[0].message, /unknown key/);
  assert.equal(jwksFetches(), 2);
  // Forged tokens cannot make it refetch on every call.
  await rejects(server.verifyAccessToken(forged), 401, "UNAUTHORIZED");
  assert.equal(jwksFetches(), 2);
  // A key activated while the cache is fresh (its standby time shortened): its first token
  // makes the one refetch, and verifies.
  h.clock.advance(10_000);
  const adminToken = (await h.signIn(ADMIN)).access_token;
  const created = await call(h, "POST", "/api/v1/admin/signing-keys", { token: adminToken });
  assert.equal(created.status, 201);
  const { key } = await created.json();
  const activate = `/api/v1/admin/signing-keys/${key.kid}/activate`;
  assert.equal((await call(h, "POST", activate, { token: adminToken })).status, 200);
  const fresh = (await h.signIn("+14155550101")).access_token;
  assert.equal(decodeProtectedHeader(fresh).kid, key.kid);
  assert.equal((await server.verifyAccessToken(fresh)).iss, h.ctx.config.publicUrl);
  assert.equal(jwksFetches(), 3);
  // The old key's tokens still verify from the refetched set.
  await server.verifyAccessToken(session.access_token);
  assert.equal(jwksFetches(), 3);
});

Deno.test("server SDK - expired, tampered, wrong-issuer and garbage tokens are 401", async () => {
  await using h = await startHarness({ env: ENV });
  await using served = serveHarness(h);
  const { server } = sdk(h, served.url);
  const session = await h.signIn("+14155550100");
  const token = session.access_token;
  await server.verifyAccessToken(token);
  const tampered = withPayload(token, (c) => c.role = "admin");
  await rejects(server.verifyAccessToken(tampered), 401, "UNAUTHORIZED");
  const other = createDoormanServer({
    baseUrl: served.url,
    issuer: "https://elsewhere.example",
    now: () => h.clock.now(),
  });
  await rejects(other.verifyAccessToken(token), 401, "UNAUTHORIZED");
  for (const garbage of ["", "abc", "a.b.c", "x".repeat(5000)]) {
    await rejects(server.verifyAccessToken(garbage), 401, "UNAUTHORIZED");
  }
  h.clock.advance(h.ctx.config.accessTokenTtlSeconds * 1000 + 1000);
  const expired = await rejects(server.verifyAccessToken(token), 401, "UNAUTHORIZED");
  assert.match(expired.message, /expired/);
});

Deno.test("server SDK - introspect: active, then inactive after logout; with no key a 401", async () => {
  await using h = await startHarness({ env: ENV });
  await using served = serveHarness(h);
  const admin = await h.signIn(ADMIN);
  const { secret } = await createKey(h, admin.access_token, ["presence:read"]);
  const { server } = sdk(h, served.url, secret);
  const session = await h.signIn("+14155550100");
  const active = await server.introspect(session.access_token);
  assert.equal(active.active, true);
  assert.ok(active.active && active.sub === session.user.id && active.status === "active");
  const out = await h.post("/api/v1/auth/logout", {}, { token: session.access_token });
  assert.equal(out.status, 204);
  assert.deepEqual(await server.introspect(session.access_token), { active: false });
  // The offline check cannot see the logout: that is what introspect is for.
  assert.equal((await server.verifyAccessToken(session.access_token)).sub, session.user.id);
  await rejects(sdk(h, served.url).server.introspect(session.access_token), 401, "UNAUTHORIZED");
});

Deno.test("server SDK - admin calls within the key's scopes; a missing scope is 403 naming it", async () => {
  await using h = await startHarness({ env: ENV });
  await using served = serveHarness(h);
  const admin = await h.signIn(ADMIN);
  const { key: writer, secret } = await createKey(h, admin.access_token, [
    "users:read",
    "users:write",
    "presence:read",
  ]);
  const { server } = sdk(h, served.url, secret);
  const user = await h.signIn("+14155550100");
  const heartbeat = await h.post("/api/v1/presence/heartbeat", {}, { token: user.access_token });
  assert.equal(heartbeat.status, 200);

  const list = await server.users.list({ status: "online", limit: 10 });
  assert.deepEqual(list.users.map((u) => u.id).sort(), [admin.user.id, user.user.id].sort());
  assert.ok(list.users.every((u) => u.presence.status === "online"));
  const searched = await server.users.list({ q: "+14155550100" });
  assert.deepEqual(searched.users.map((u) => u.id), [user.user.id]);
  const detail = await server.users.get(user.user.id);
  assert.equal(detail.user.id, user.user.id);
  assert.equal(detail.sessions.length, 1);
  await rejects(server.users.get("usr_doesnotexist"), 404, "NOT_FOUND");
  const presence = await server.presence([user.user.id, "usr_nobody"]);
  assert.deepEqual(presence.users.map((p) => [p.user_id, p.status]), [
    [user.user.id, "online"],
    ["usr_nobody", "offline"],
  ]);

  await server.users.endSessions(user.user.id);
  assert.deepEqual(await server.introspect(user.access_token), { active: false });
  const updated = await server.users.update(user.user.id, { status: "suspended" });
  assert.equal(updated.user.status, "suspended");
  const bad = await rejects(server.users.update(user.user.id, {}), 400, "VALIDATION_FAILED");
  assert.ok(bad.details.length > 0);

  const denied = await rejects(server.auditLog({ limit: 5 }), 403, "FORBIDDEN");
  assert.equal(denied.scope, "events:read");
  const { secret: auditor } = await createKey(h, admin.access_token, ["events:read"]);
  const audit = await sdk(h, served.url, auditor).server.auditLog({ limit: 5 });
  // Newest first: the auditor key's creation, then the changes the first key made.
  assert.deepEqual(audit.entries.slice(0, 3).map((e) => e.action), [
    "api_key.create",
    "user.update",
    "user.sessions_revoke",
  ]);
  assert.equal(audit.entries[1].actor.api_key_id, writer.id);
  const readOnly = sdk(h, served.url, auditor).server;
  const noWrite = await rejects(
    readOnly.users.update(user.user.id, { status: "active" }),
    403,
    "FORBIDDEN",
  );
  assert.equal(noWrite.scope, "users:write");
});

Deno.test("server SDK - a revoked key is 401 on its next call", async () => {
  await using h = await startHarness({ env: ENV });
  await using served = serveHarness(h);
  const admin = await h.signIn(ADMIN);
  const { key, secret } = await createKey(h, admin.access_token, ["users:read"]);
  const { server } = sdk(h, served.url, secret);
  assert.equal((await server.users.list()).users.length, 1);
  const revoked = await call(h, "DELETE", `${KEYS}/${key.id}`, { token: admin.access_token });
  assert.equal(revoked.status, 204);
  const results = await Promise.all(
    Array.from({ length: 5 }, () => rejects(server.users.list(), 401, "UNAUTHORIZED")),
  );
  assert.equal(results.length, 5);
  await rejects(
    createDoormanServer({ baseUrl: served.url, apiKey: "dk_malformed" }).users.list(),
    401,
    "UNAUTHORIZED",
  );
});
