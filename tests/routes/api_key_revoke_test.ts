import assert from "node:assert/strict";
import { startHarness } from "../helpers.ts";
import { ADMIN, call } from "./admin_helpers.ts";
import { createKey, KEYS } from "./api_key_helpers.ts";

const ENV = { ADMIN_PHONES: ADMIN };

Deno.test("revoking a key: 401 at once here, and within 1 s on another instance over the same KV", async () => {
  await using a = await startHarness({ env: ENV });
  await using b = await startHarness({ kv: a.ctx.kv, clock: a.clock, env: ENV });
  const admin = await a.signIn(ADMIN);
  const { key, secret } = await createKey(a, admin.access_token, ["users:read"]);
  const users = "/api/v1/admin/users";
  // Both instances know (and cache) the key.
  assert.equal((await call(a, "GET", users, { token: secret })).status, 200);
  assert.equal((await call(b, "GET", users, { token: secret })).status, 200);

  const revoked = await call(a, "DELETE", `${KEYS}/${key.id}`, { token: admin.access_token });
  assert.equal(revoked.status, 204);
  const since = performance.now();
  // Here: at once, for every request in flight after the answer.
  const here = await Promise.all(
    Array.from({ length: 10 }, () => call(a, "GET", users, { token: secret })),
  );
  assert.deepEqual(here.map((res) => res.status), Array(10).fill(401));
  // There: keep calling in parallel batches until refused; all within a second.
  let refusedAt = 0;
  while (performance.now() - since < 1_500) {
    const batch = await Promise.all(
      Array.from({ length: 5 }, () => call(b, "GET", users, { token: secret })),
    );
    const statuses = batch.map((res) => res.status);
    if (statuses.every((s) => s === 401)) {
      refusedAt = performance.now();
      break;
    }
    assert.ok(statuses.every((s) => s === 200 || s === 401), String(statuses));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(refusedAt > 0, "still accepted on the other instance after 1.5 s");
  assert.ok(refusedAt - since < 1_000, `refused after ${Math.round(refusedAt - since)} ms`);
  // And it stays refused; the list no longer has it; a second revoke is 404.
  assert.equal((await call(b, "GET", users, { token: secret })).status, 401);
  const list = await (await call(b, "GET", KEYS, { token: admin.access_token })).json();
  assert.deepEqual(list.keys, []);
  const again = await call(b, "DELETE", `${KEYS}/${key.id}`, { token: admin.access_token });
  assert.equal(again.status, 404);
});

Deno.test("a revoke of an unknown or malformed key id is 404, nothing changes", async () => {
  await using h = await startHarness({ env: ENV });
  const admin = await h.signIn(ADMIN);
  const { secret } = await createKey(h, admin.access_token, ["users:read"]);
  for (const id of [`key_${"0".repeat(26)}`, "key_x", "nope"]) {
    const res = await call(h, "DELETE", `${KEYS}/${id}`, { token: admin.access_token });
    assert.equal(res.status, 404, id);
    await res.body?.cancel();
  }
  assert.equal((await call(h, "GET", "/api/v1/admin/users", { token: secret })).status, 200);
});
