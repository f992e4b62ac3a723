import assert from "node:assert/strict";
import { ADMIN, adminHarness, call, json } from "./admin_helpers.ts";
import { createKey } from "./api_key_helpers.ts";
import type { Harness } from "../helpers.ts";

const ALL = [
  "users:read",
  "users:write",
  "presence:read",
  "contacts:write",
  "events:read",
  "settings:write",
];

/** Every route group a key may call, with the scope it needs and a harmless call. */
function matrix(
  userId: string,
  keyId: string,
): { scope: string; method: string; path: string; body?: unknown }[] {
  const A = "/api/v1/admin";
  return [
    { scope: "users:read", method: "GET", path: `${A}/users` },
    { scope: "users:read", method: "GET", path: `${A}/users/${userId}` },
    { scope: "users:read", method: "GET", path: `${A}/users.csv` },
    { scope: "users:read", method: "GET", path: `${A}/events.csv` },
    { scope: "users:write", method: "PATCH", path: `${A}/users/${userId}`, body: { role: "user" } },
    { scope: "users:write", method: "DELETE", path: `${A}/users/${userId}/sessions` },
    {
      scope: "users:write",
      method: "DELETE",
      path: `${A}/users/${userId}/sessions/fam_00000000000000000000000000`,
    },
    { scope: "events:read", method: "GET", path: `${A}/events` },
    { scope: "events:read", method: "GET", path: `${A}/audit` },
    { scope: "events:read", method: "GET", path: `${A}/deliveries` },
    { scope: "events:read", method: "GET", path: `${A}/fraud` },
    { scope: "events:read", method: "GET", path: `${A}/webhooks` },
    { scope: "events:read", method: "GET", path: `${A}/stats` },
    { scope: "settings:write", method: "GET", path: `${A}/settings` },
    { scope: "settings:write", method: "PUT", path: `${A}/settings`, body: { otp_length: 6 } },
    { scope: "settings:write", method: "DELETE", path: `${A}/settings/otp_length` },
    { scope: "settings:write", method: "GET", path: `${A}/config` },
    { scope: "settings:write", method: "DELETE", path: `${A}/fraud/prefixes/+1646` },
    { scope: "settings:write", method: "GET", path: `${A}/api-keys` },
    { scope: "settings:write", method: "GET", path: `${A}/signing-keys` },
    { scope: "settings:write", method: "POST", path: `${A}/signing-keys` },
    { scope: "settings:write", method: "DELETE", path: `${A}/api-keys/${keyId}` },
    { scope: "presence:read", method: "GET", path: `/api/v1/presence?user_ids=${userId}` },
  ];
}

/** Calls a route and closes a stream answer at once. */
async function callOnce(h: Harness, token: string, route: ReturnType<typeof matrix>[number]) {
  const res = await call(h, route.method, route.path, { token }, route.body);
  const text = res.headers.get("content-type")?.startsWith("text/event-stream")
    ? (await res.body?.cancel(), "")
    : await res.text();
  return { status: res.status, text };
}

Deno.test("scopes: each route group takes a key with its scope, and names it when missing", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550100");
  for (const scope of ALL) {
    const { secret } = await createKey(h, admin.access_token, [scope]);
    // The DELETE of a key aims at an unknown one (404): no key is revoked for real.
    const rows = matrix(user.user.id, `key_${"0".repeat(26)}`);
    // In parallel: the check is per request, not per key.
    const answers = await Promise.all(rows.map((row) => callOnce(h, secret, row)));
    rows.forEach((row, i) => {
      const { status, text } = answers[i];
      const what = `${scope} key: ${row.method} ${row.path}`;
      if (row.scope === scope) {
        assert.ok(status < 400 || status === 404, `${what} → ${status} ${text}`);
      } else {
        assert.equal(status, 403, `${what} → ${status} ${text}`);
        const error = JSON.parse(text).error;
        assert.equal(error.code, "FORBIDDEN", what);
        assert.equal(error.scope, row.scope, what);
      }
    });
  }
});

Deno.test("scopes: a change made with a key names the key in the audit log, not a user", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550100");
  const { key, secret } = await createKey(h, admin.access_token, ["users:write", "settings:write"]);
  const patched = await call(h, "PATCH", `/api/v1/admin/users/${user.user.id}`, { token: secret }, {
    status: "suspended",
  });
  assert.equal(patched.status, 200, await patched.text());
  const revoke = await call(h, "DELETE", `/api/v1/admin/api-keys/${key.id}`, { token: secret });
  assert.equal(revoke.status, 204);
  const audit = await json(
    await call(h, "GET", "/api/v1/admin/audit", { token: admin.access_token }),
  );
  const entries = audit.entries as { action: string; actor: Record<string, unknown> }[];
  const update = entries.find((e) => e.action === "user.update")!;
  assert.equal(update.actor.api_key_id, key.id);
  assert.equal(update.actor.user_id, null);
  const revoked = entries.find((e) => e.action === "api_key.revoke")!;
  assert.equal(revoked.actor.api_key_id, key.id);
  const created = entries.find((e) => e.action === "api_key.create")!;
  assert.equal(created.actor.user_id, admin.user.id);
  assert.equal(created.actor.api_key_id, undefined);
  // The key revoked itself: it works no more.
  const after = await call(h, "GET", "/api/v1/admin/settings", { token: secret });
  assert.equal(after.status, 401);
});
