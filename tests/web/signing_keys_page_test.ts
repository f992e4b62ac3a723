import assert from "node:assert/strict";
import { decodeProtectedHeader } from "jose";
import { startHarness } from "../helpers.ts";
import {
  ADMIN,
  ADMIN_EMAIL,
  call,
  dashboardSignIn,
  islandsOf,
  json,
} from "../routes/admin_helpers.ts";

type Key = { kid: string; state: string };
const ENV = { ADMIN_EMAILS: ADMIN_EMAIL, ADMIN_PHONES: ADMIN, SIGNING_KEY_PUBLISH_SECONDS: "120" };
const SAME_ORIGIN = { "sec-fetch-site": "same-origin" };

Deno.test("dashboard - signing keys page: under Settings, the island gets every key with its state and the publication time", async () => {
  await using h = await startHarness({ env: ENV });
  const admin = await h.signIn(ADMIN);
  const current = decodeProtectedHeader(admin.access_token).kid!;
  h.clock.advance(1_000);
  const created = await call(h, "POST", "/api/v1/admin/signing-keys", {
    token: admin.access_token,
  });
  const standby = (await json(created, 201)).key as Key;
  const { cookie } = await dashboardSignIn(h);

  const res = await h.app.request("/admin/signing-keys", { headers: { cookie } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<a href="\/admin\/settings" aria-current="page">Settings<\/a>/);
  assert.match(html, /<a href="\/admin\/settings">Settings<\/a>/, "the breadcrumb back");
  assert.match(html, /<h1>Signing keys<\/h1>/);
  const [island] = islandsOf(html);
  assert.equal(island.name, "SigningKeysPanel");
  const listed = await json(
    await call(h, "GET", "/api/v1/admin/signing-keys", { token: admin.access_token }),
  );
  assert.deepEqual(island.props, { initial: listed, publishSeconds: 120 });
  assert.deepEqual(
    (listed.keys as Key[]).map((k) => [k.kid, k.state]),
    [[standby.kid, "standby"], [current, "current"]],
  );
  assert.ok(
    !/"(d|x|y|sealed|private)[^"]*":/i.test(JSON.stringify(island.props)),
    "no key material",
  );

  // Rendered on the server too: a standby key can be activated or revoked, the current one neither.
  assert.ok(html.includes(`aria-label="Activate the key ${standby.kid}"`));
  assert.ok(html.includes(`aria-label="Revoke the key ${standby.kid}"`));
  assert.ok(!html.includes(`the key ${current}"`), "no action on the current key");
  assert.match(html, /Create standby key/);

  const settings = await h.app.request("/admin/settings", { headers: { cookie } });
  assert.match(await settings.text(), /<a href="\/admin\/signing-keys">Signing keys<\/a>/);
});

Deno.test("dashboard - signing keys page: the island's calls work with the dashboard cookie, too early is 409 with the seconds left", async () => {
  await using h = await startHarness({ env: ENV });
  const { cookie } = await dashboardSignIn(h);
  const who = { cookie, headers: SAME_ORIGIN };
  const standby = (await json(await call(h, "POST", "/api/v1/admin/signing-keys", who), 201))
    .key as Key;

  h.clock.advance(20_000);
  const early = await call(h, "POST", `/api/v1/admin/signing-keys/${standby.kid}/activate`, who);
  const error = (await json(early, 409)).error as Record<string, unknown>;
  assert.equal(error.reason, "key_not_ready");
  assert.equal(error.retry_after, 100);

  h.clock.advance(100_000);
  const activated = await call(
    h,
    "POST",
    `/api/v1/admin/signing-keys/${standby.kid}/activate`,
    who,
  );
  assert.equal(((await json(activated)).key as Key).state, "current");
  const page = await (await h.app.request("/admin/signing-keys", { headers: { cookie } })).text();
  const props = islandsOf(page)[0].props as { initial: { keys: Key[] } };
  assert.deepEqual(props.initial.keys.map((k) => k.state), ["current", "previous"]);
  const previous = props.initial.keys[1].kid;
  const revoked = await call(h, "POST", `/api/v1/admin/signing-keys/${previous}/revoke`, who);
  assert.equal(((await json(revoked)).key as Key).state, "revoked");
});

Deno.test("dashboard - signing keys page: nobody signed out, and no non-admin, reaches it", async () => {
  await using h = await startHarness({ env: ENV });
  const away = await h.app.request("/admin/signing-keys");
  assert.equal(away.status, 303);
  assert.match(away.headers.get("location")!, /^\/admin\/login/);
  await away.body?.cancel();

  const { cookie, res } = await dashboardSignIn(h, "someone@example.com");
  assert.equal(res.status, 403);
  await res.body?.cancel();
  const refused = await h.app.request("/admin/signing-keys", { headers: { cookie } });
  assert.equal(refused.status, 303);
  await refused.body?.cancel();
});
