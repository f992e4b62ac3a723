import assert from "node:assert/strict";
import { type Harness, setUserStatus, startHarness } from "../helpers.ts";
import { ADMIN, call, failsWith, json } from "./admin_helpers.ts";
import { createKey } from "./api_key_helpers.ts";

const PATH = "/api/v1/auth/introspect";
const ENV = {
  ADMIN_PHONES: ADMIN,
  OTP_RESEND_COOLDOWN_SECONDS: "0",
  OTP_RATE_LIMIT_PER_HOUR: "1000",
  OTP_IP_RATE_LIMIT_PER_HOUR: "1000",
};

async function introspect(h: Harness, key: string, token: unknown) {
  return await json(await call(h, "POST", PATH, { token: key }, { token }));
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
}

Deno.test("introspect: a working token is active with its claims, role and status", async () => {
  await using h = await startHarness({ env: ENV });
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550100");
  // Any scope will do.
  const { secret } = await createKey(h, admin.access_token, ["presence:read"]);
  const claims = claimsOf(user.access_token);
  assert.deepEqual(await introspect(h, secret, user.access_token), {
    active: true,
    sub: user.user.id,
    sid: claims.sid,
    exp: claims.exp,
    iat: claims.iat,
    role: "user",
    status: "active",
  });
  assert.equal((await introspect(h, secret, admin.access_token)).role, "admin");
});

Deno.test("introspect: invalid, expired, logged out, revoked and disabled are inactive", async () => {
  await using h = await startHarness({ env: ENV });
  const admin = await h.signIn(ADMIN);
  const { secret } = await createKey(h, admin.access_token, ["users:read"]);
  const inactive = { active: false };
  for (const token of ["", "x", "a.b.c", `${admin.access_token}x`, "dk_abc", "é".repeat(5000)]) {
    assert.deepEqual(await introspect(h, secret, token), inactive, token.slice(0, 20));
  }

  // Logged out: inactive at once (the logout and the question sent together, then after).
  const out = await h.signIn("+14155550100");
  assert.equal((await introspect(h, secret, out.access_token)).active, true);
  const logout = await call(h, "POST", "/api/v1/auth/logout", { token: out.access_token });
  assert.equal(logout.status, 204);
  assert.deepEqual(await introspect(h, secret, out.access_token), inactive);

  // One sign-in ended by an admin: inactive; the user's other sign-in stays active.
  const ended = await h.signIn("+14155550101");
  const kept = await h.signIn("+14155550101");
  const sid = claimsOf(ended.access_token).sid;
  const end = await call(h, "DELETE", `/api/v1/admin/users/${ended.user.id}/sessions/${sid}`, {
    token: admin.access_token,
  });
  assert.equal(end.status, 204);
  const [endedNow, keptNow] = await Promise.all([
    introspect(h, secret, ended.access_token),
    introspect(h, secret, kept.access_token),
  ]);
  assert.deepEqual(endedNow, inactive);
  assert.equal(keptNow.active, true);

  // A disabled account: inactive at once, for every token of it.
  const disabled = await h.signIn("+14155550102");
  await setUserStatus(h, admin.access_token, disabled.user.id, "suspended");
  assert.deepEqual(await introspect(h, secret, disabled.access_token), inactive);

  // Expired.
  const later = await h.signIn("+14155550103");
  h.clock.advance(h.ctx.config.accessTokenTtlSeconds * 1000 + 1000);
  assert.deepEqual(await introspect(h, secret, later.access_token), inactive);
});

Deno.test("introspect: only an API key may ask; bad bodies are 400", async () => {
  await using h = await startHarness({ env: ENV });
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550100");
  const { key, secret } = await createKey(h, admin.access_token, ["events:read"]);
  const body = { token: user.access_token };
  await failsWith(
    await call(h, "POST", PATH, { token: user.access_token }, body),
    401,
    "UNAUTHORIZED",
  );
  await failsWith(
    await call(h, "POST", PATH, { token: admin.access_token }, body),
    401,
    "UNAUTHORIZED",
  );
  await failsWith(await call(h, "POST", PATH, {}, body), 401, "UNAUTHORIZED");
  await failsWith(
    await call(h, "POST", PATH, { token: `dk_${"A".repeat(43)}` }, body),
    401,
    "UNAUTHORIZED",
  );
  for (const bad of [{}, { token: 1 }, { token: "x", extra: 1 }, []]) {
    await failsWith(await call(h, "POST", PATH, { token: secret }, bad), 400, "VALIDATION_FAILED");
  }
  const notJson = await h.app.request(PATH, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "text/plain" },
    body: "token",
  });
  await failsWith(notJson, 415, "UNSUPPORTED_MEDIA_TYPE");
  // A revoked key may no longer ask.
  await call(h, "DELETE", `/api/v1/admin/api-keys/${key.id}`, { token: admin.access_token });
  await failsWith(await call(h, "POST", PATH, { token: secret }, body), 401, "UNAUTHORIZED");
});

Deno.test("introspect: a logout on one instance is inactive on another within 1 s", async () => {
  await using a = await startHarness({ env: ENV });
  await using b = await startHarness({ kv: a.ctx.kv, clock: a.clock, env: ENV });
  const admin = await a.signIn(ADMIN);
  const { secret } = await createKey(a, admin.access_token, ["users:read"]);
  const user = await a.signIn("+14155550100");
  // b has the sign-in cached as active.
  assert.equal((await introspect(b, secret, user.access_token)).active, true);
  assert.equal(
    (await call(a, "POST", "/api/v1/auth/logout", { token: user.access_token })).status,
    204,
  );
  const since = performance.now();
  let inactiveAt = 0;
  while (performance.now() - since < 1_500) {
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => introspect(b, secret, user.access_token)),
    );
    if (answers.every((answer) => answer.active === false)) {
      inactiveAt = performance.now();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(inactiveAt > 0, "still active on the other instance after 1.5 s");
  assert.ok(inactiveAt - since < 1_000, `inactive after ${Math.round(inactiveAt - since)} ms`);
});
