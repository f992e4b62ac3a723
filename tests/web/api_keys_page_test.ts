import assert from "node:assert/strict";
import { startHarness } from "../helpers.ts";
import { ADMIN, ADMIN_EMAIL, dashboardSignIn, islandsOf } from "../routes/admin_helpers.ts";
import { createKey } from "../routes/api_key_helpers.ts";

Deno.test("dashboard - API keys page: lists keys with prefix, scopes and creator, never a secret", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN_EMAIL, ADMIN_PHONES: ADMIN } });
  const admin = await h.signIn(ADMIN);
  const { key, secret } = await createKey(h, admin.access_token, ["users:read", "events:read"]);
  const { cookie } = await dashboardSignIn(h);
  const res = await h.app.request("/admin/api-keys", { headers: { cookie } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<a href="\/admin\/api-keys" aria-current="page">API keys<\/a>/);
  const [island] = islandsOf(html);
  assert.equal(island.name, "ApiKeysPanel");
  const props = island.props as { initial: { keys: Record<string, unknown>[] }; scopes: string[] };
  assert.deepEqual(props.initial.keys, [key]);
  assert.deepEqual(props.scopes, [
    "users:read",
    "users:write",
    "presence:read",
    "contacts:write",
    "events:read",
    "settings:write",
  ]);
  assert.ok(!html.includes(secret.slice(11)), "the secret is not on the page");
  assert.match(html, new RegExp(String(key.prefix)));

  const away = await h.app.request("/admin/api-keys");
  assert.equal(away.status, 303);
  await away.body?.cancel();
});
