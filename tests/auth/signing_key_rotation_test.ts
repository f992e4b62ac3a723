import assert from "node:assert/strict";
import { decodeProtectedHeader } from "jose";
import { FakeClock } from "../../core/clock.ts";
import { startHarness, waitFor } from "../helpers.ts";
import { ADMIN, adminHarness, call, failsWith, json } from "../routes/admin_helpers.ts";

type Key = { kid: string; alg: string; state: string; activated_at: string | null };

async function jwksKids(h: { get(path: string): Promise<Response> }): Promise<string[]> {
  const body = await (await h.get("/.well-known/jwks.json")).json();
  for (const key of body.keys) assert.equal("d" in key, false);
  return body.keys.map((k: { kid: string }) => k.kid).sort();
}

Deno.test("signing keys - create, activate after the publication time, revoke: audited, and tokens follow", async () => {
  await using h = await adminHarness({ SIGNING_KEY_PUBLISH_SECONDS: "60" });
  const admin = await h.signIn(ADMIN);
  const token = admin.access_token;
  const first = decodeProtectedHeader(token).kid!;

  const listed = await json(await call(h, "GET", "/api/v1/admin/signing-keys", { token }));
  assert.deepEqual((listed.keys as Key[]).map((k) => [k.kid, k.state]), [[first, "current"]]);

  const created = await json(await call(h, "POST", "/api/v1/admin/signing-keys", { token }), 201);
  const key = created.key as Key;
  assert.equal(key.state, "standby");
  assert.equal(key.alg, "ES256");
  assert.deepEqual(await jwksKids(h), [first, key.kid].sort(), "published at once");

  const early = await call(h, "POST", `/api/v1/admin/signing-keys/${key.kid}/activate`, { token });
  const body = await json(early, 409);
  assert.equal((body.error as { reason: string }).reason, "key_not_ready");

  h.clock.advance(60_000);
  const activated = await json(
    await call(h, "POST", `/api/v1/admin/signing-keys/${key.kid}/activate`, { token }),
  );
  assert.equal((activated.key as Key).state, "current");
  // The old key's token still works; new tokens carry the new kid.
  await json(await call(h, "GET", "/api/v1/me", { token }));
  const second = await h.signIn(ADMIN);
  assert.equal(decodeProtectedHeader(second.access_token).kid, key.kid);
  assert.deepEqual(await jwksKids(h), [first, key.kid].sort(), "the previous key still verifies");

  const inUse = await call(h, "POST", `/api/v1/admin/signing-keys/${key.kid}/revoke`, {
    token: second.access_token,
  });
  assert.equal(((await json(inUse, 409)).error as { reason: string }).reason, "key_in_use");

  const revoked = await json(
    await call(h, "POST", `/api/v1/admin/signing-keys/${first}/revoke`, {
      token: second.access_token,
    }),
  );
  assert.equal((revoked.key as Key).state, "revoked");
  await failsWith(await call(h, "GET", "/api/v1/me", { token }), 401, "UNAUTHORIZED");
  assert.deepEqual(await jwksKids(h), [key.kid]);

  const unknown = await call(h, "POST", "/api/v1/admin/signing-keys/nope/activate", {
    token: second.access_token,
  });
  await failsWith(unknown, 404, "NOT_FOUND");

  const audit = await json(
    await call(h, "GET", "/api/v1/admin/audit", { token: second.access_token }),
  );
  const actions = (audit.entries as { action: string; target: string }[])
    .filter((e) => e.action.startsWith("signing_key."))
    .map((e) => [e.action, e.target]);
  assert.deepEqual(actions, [
    ["signing_key.revoke", first],
    ["signing_key.activate", key.kid],
    ["signing_key.create", key.kid],
  ]);
});

Deno.test("signing keys - only admins manage them", async () => {
  await using h = await adminHarness();
  const user = await h.signIn("+14155550100");
  for (const [method, path] of [["GET", ""], ["POST", ""], ["POST", "/abc/revoke"]]) {
    const res = await call(h, method, `/api/v1/admin/signing-keys${path}`, {
      token: user.access_token,
    });
    await failsWith(res, 403, "FORBIDDEN");
  }
});

Deno.test("signing keys - a revoked key's tokens are refused on another instance within 1 s", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const env = { ADMIN_PHONES: ADMIN, SIGNING_KEY_PUBLISH_SECONDS: "0" };
    const clock = new FakeClock(Date.now());
    await using a = await startHarness({ kv, env, clock });
    await using b = await startHarness({ kv, env, clock });
    const admin = await a.signIn(ADMIN);
    const user = await a.signIn("+14155550100");
    const old = decodeProtectedHeader(user.access_token).kid!;
    // B has verified (and cached) the token before the rotation.
    await json(await call(b, "GET", "/api/v1/me", { token: user.access_token }));

    const created = await json(
      await call(a, "POST", "/api/v1/admin/signing-keys", { token: admin.access_token }),
      201,
    );
    const kid = (created.key as Key).kid;
    await json(
      await call(a, "POST", `/api/v1/admin/signing-keys/${kid}/activate`, {
        token: admin.access_token,
      }),
    );
    const fresh = await a.signIn("+14155550101");
    // B finds the new kid (an unknown kid rereads the ring, at most once a second).
    await waitFor(async () => {
      const res = await call(b, "GET", "/api/v1/me", { token: fresh.access_token });
      await res.body?.cancel();
      return res.status === 200;
    }, 1500);

    await json(
      await call(a, "POST", `/api/v1/admin/signing-keys/${old}/revoke`, {
        token: admin.access_token,
      }),
    );
    const started = performance.now();
    await waitFor(async () => {
      const res = await call(b, "GET", "/api/v1/me", { token: user.access_token });
      await res.body?.cancel();
      return res.status === 401;
    }, 1500);
    assert.ok(performance.now() - started < 1_100, "refused on the other instance within 1 s");
    await failsWith(
      await call(a, "GET", "/api/v1/me", { token: user.access_token }),
      401,
      "UNAUTHORIZED",
    );
    await json(await call(b, "GET", "/api/v1/me", { token: fresh.access_token }));
  } finally {
    kv.close();
  }
});
