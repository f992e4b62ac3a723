import assert from "node:assert/strict";
import { ADMIN, adminHarness, call, failsWith, json } from "./admin_helpers.ts";
import { waitFor } from "../helpers.ts";
import { createKey } from "./api_key_helpers.ts";

const KEYS = "/api/v1/admin/api-keys";

Deno.test("an admin creates a key: the secret is shown once, then listed without it", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const { key, secret } = await createKey(h, admin.access_token, ["users:read", "users:read"]);
  assert.match(secret, /^dk_[A-Za-z0-9_-]{43}$/);
  assert.match(String(key.id), /^key_[0-9A-Z]{26}$/);
  assert.equal(key.name, "backend");
  assert.deepEqual(key.scopes, ["users:read"]);
  assert.equal(key.prefix, secret.slice(0, 11));
  assert.equal(key.created_by, admin.user.id);
  assert.equal(key.expires_at, null);
  assert.equal(key.last_used_at, null);
  assert.equal(key.created_at, new Date(h.clock.now()).toISOString());

  // Used, well and badly, so the request log has had its chance to show it.
  assert.equal((await call(h, "GET", "/api/v1/admin/users", { token: secret })).status, 200);
  const wrong = await call(h, "GET", "/api/v1/admin/users", { token: `${secret}x` });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const listRes = await call(h, "GET", KEYS, { token: admin.access_token });
  const listText = await listRes.text();
  assert.equal(listRes.status, 200);
  assert.deepEqual(JSON.parse(listText), {
    keys: [{ ...key, last_used_at: JSON.parse(listText).keys[0].last_used_at }],
  });
  const audit = await call(h, "GET", "/api/v1/admin/audit", { token: admin.access_token });
  const auditText = await audit.text();
  assert.match(auditText, /"action":"api_key\.create"/);
  // The secret (and its hash-free middle part) is nowhere but in the create answer.
  const middle = secret.slice(11);
  for (
    const [what, text] of [["list", listText], ["audit", auditText], [
      "logs",
      h.log.lines.join("\n"),
    ]]
  ) {
    assert.ok(!text.includes(middle), `secret in ${what}`);
  }
  // Nor in KV: only its hash is stored.
  for await (const entry of h.ctx.kv.list({ prefix: [] })) {
    assert.ok(
      !JSON.stringify(entry, (_k, v) => typeof v === "bigint" ? String(v) : v)
        .includes(middle),
      "secret in KV",
    );
  }
});

Deno.test("creating keys: only an admin's sign-in; bad bodies are 400", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550100");
  const { secret } = await createKey(h, admin.access_token, [
    "users:read",
    "users:write",
    "presence:read",
    "contacts:write",
    "events:read",
    "settings:write",
  ]);
  const asKey = await call(h, "POST", KEYS, { token: secret }, {
    name: "x",
    scopes: ["users:read"],
  });
  await failsWith(asKey, 403, "FORBIDDEN");
  await failsWith(
    await call(h, "POST", KEYS, { token: user.access_token }, {
      name: "x",
      scopes: ["users:read"],
    }),
    403,
    "FORBIDDEN",
  );
  await failsWith(await call(h, "POST", KEYS, {}, { name: "x", scopes: [] }), 401, "UNAUTHORIZED");
  const bad: unknown[] = [
    { name: "x", scopes: ["users:admin"] },
    { name: "x", scopes: [] },
    { name: "", scopes: ["users:read"] },
    { name: "x", scopes: "users:read" },
    { name: "x", scopes: ["users:read"], expires_at: "tomorrow" },
    { name: "x", scopes: ["users:read"], expires_at: "2000-01-01T00:00:00Z" },
    { name: "x", scopes: ["users:read"], extra: 1 },
    [],
  ];
  const answers = await Promise.all(
    bad.map((body) => call(h, "POST", KEYS, { token: admin.access_token }, body)),
  );
  for (const res of answers) await failsWith(res, 400, "VALIDATION_FAILED");
  const list = await json(await call(h, "GET", KEYS, { token: admin.access_token }));
  assert.equal((list.keys as unknown[]).length, 1, "nothing stored by the refused ones");
});

Deno.test("malformed, unknown and expired keys are 401", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const { secret } = await createKey(h, admin.access_token, ["users:read"], {
    expires_at: new Date(h.clock.now() + 60_000).toISOString(),
  });
  const users = "/api/v1/admin/users";
  assert.equal((await call(h, "GET", users, { token: secret })).status, 200);
  const wrong = [
    "dk_",
    "dk_short",
    `dk_${"A".repeat(43)}`,
    `${secret}x`,
    `dk_${"é".repeat(43)}`,
    secret.replace(/.$/, (ch) => ch === "A" ? "B" : "A"),
  ];
  const answers = await Promise.all(wrong.map((token) => call(h, "GET", users, { token })));
  for (const res of answers) await failsWith(res, 401, "UNAUTHORIZED");
  h.clock.advance(60_000);
  await failsWith(await call(h, "GET", users, { token: secret }), 401, "UNAUTHORIZED");
});

Deno.test("last_used_at is noted at most once a minute, not per request", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const { key, secret } = await createKey(h, admin.access_token, ["users:read"]);
  const first = h.clock.now();
  await Promise.all(
    Array.from({ length: 20 }, () => call(h, "GET", "/api/v1/admin/users", { token: secret })),
  );
  const view = async () =>
    ((await json(await call(h, "GET", KEYS, { token: admin.access_token }))).keys as {
      id: string;
      last_used_at: string | null;
    }[]).find((k) => k.id === key.id)!;
  await waitFor(async () => (await view()).last_used_at !== null);
  assert.equal((await view()).last_used_at, new Date(first).toISOString());
  h.clock.advance(30_000);
  await call(h, "GET", "/api/v1/admin/users", { token: secret });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await view()).last_used_at, new Date(first).toISOString(), "noted within a minute");
  h.clock.advance(31_000);
  await call(h, "GET", "/api/v1/admin/users", { token: secret });
  await waitFor(async () => (await view()).last_used_at === new Date(h.clock.now()).toISOString());
});
