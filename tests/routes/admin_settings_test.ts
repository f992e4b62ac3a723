import assert from "node:assert/strict";
import { DEFAULT_SETTINGS } from "../../core/settings.ts";
import { getStoredSettingsEntry } from "../../kv/settings.ts";

const getStoredSettings = async (kv: Deno.Kv) => (await getStoredSettingsEntry(kv)).value ?? {};
import { errorOf, type Harness, startHarness } from "../helpers.ts";

const ADMIN = "+14155550000";

function put(h: Harness, body: unknown, token: string, contentType = "application/json") {
  return h.app.request("/api/v1/admin/settings", {
    method: "PUT",
    headers: { "content-type": contentType, authorization: `Bearer ${token}` },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function settingsOf(h: Harness, token: string): Promise<Record<string, number>> {
  const res = await h.get("/api/v1/admin/settings", { token });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

Deno.test("admin settings - GET answers all ten settings: defaults, env boot values", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const admin = await h.signIn(ADMIN);
  assert.deepEqual(await settingsOf(h, admin.access_token), {
    otp_length: 6,
    otp_ttl_seconds: 300,
    otp_max_attempts: 5,
    otp_resend_cooldown_seconds: 60,
    otp_rate_limit_per_hour: 5,
    otp_ip_rate_limit_per_hour: 30,
    telegram_autodelete_seconds: 30,
    presence_timeout_seconds: 120,
    heartbeat_interval_seconds: 30,
    presence_offline_grace_seconds: 5,
  });

  await using booted = await startHarness({ env: { ADMIN_PHONES: ADMIN, OTP_LENGTH: "8" } });
  const other = await booted.signIn(ADMIN);
  assert.deepEqual(await settingsOf(booted, other.access_token), {
    ...DEFAULT_SETTINGS,
    otp_length: 8,
  });
});

Deno.test("admin settings - PUT otp_length answers every setting and the next code has that many digits", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const admin = await h.signIn(ADMIN);
  const res = await put(h, { otp_length: 8 }, admin.access_token);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.deepEqual(await res.json(), { ...DEFAULT_SETTINGS, otp_length: 8 });

  const { code } = await h.requestCode("+14155550101");
  assert.match(code, /^\d{8}$/);
  assert.deepEqual(await settingsOf(h, admin.access_token), { ...DEFAULT_SETTINGS, otp_length: 8 });
});

Deno.test("admin settings - PUTs merge: earlier changes stay, only overrides are stored", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const admin = await h.signIn(ADMIN);
  await (await put(h, { otp_length: 8 }, admin.access_token)).body?.cancel();
  const res = await put(
    h,
    { presence_timeout_seconds: 20, heartbeat_interval_seconds: 10 },
    admin.access_token,
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    ...DEFAULT_SETTINGS,
    otp_length: 8,
    presence_timeout_seconds: 20,
    heartbeat_interval_seconds: 10,
  });
  assert.deepEqual(await getStoredSettings(h.ctx.kv), {
    otp_length: 8,
    presence_timeout_seconds: 20,
    heartbeat_interval_seconds: 10,
  });
  const beat = await h.post("/api/v1/presence/heartbeat", {}, { token: admin.access_token });
  assert.equal((await beat.json()).next_heartbeat_in, 10);

  const empty = await put(h, {}, admin.access_token);
  assert.equal(empty.status, 200);
  assert.equal((await empty.json()).otp_length, 8);
});

Deno.test("admin settings - out-of-range, unknown, mistyped or inconsistent values are 400 and store nothing", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const admin = await h.signIn(ADMIN);
  const cases: [unknown, string][] = [
    [{ otp_length: 3 }, "otp_length"],
    [{ otp_length: 11 }, "otp_length"],
    [{ otp_length: 6.5 }, "otp_length"],
    [{ otp_length: "6" }, "otp_length"],
    [{ otp_length: null }, "otp_length"],
    [{ otp_ttl_seconds: 1 }, "otp_ttl_seconds"],
    [{ otp_ip_rate_limit_per_hour: 1_000_001 }, "otp_ip_rate_limit_per_hour"],
    [{ telegram_autodelete_seconds: 61, otp_length: 6 }, "telegram_autodelete_seconds"],
    [{ heartbeat_interval_seconds: 120 }, "heartbeat_interval_seconds"],
    [{ presence_timeout_seconds: 30 }, "heartbeat_interval_seconds"],
    [
      { presence_timeout_seconds: 10, heartbeat_interval_seconds: 20 },
      "heartbeat_interval_seconds",
    ],
    [{ otp_length: 8, max_sessions: 3 }, "(body)"],
    [[], "(body)"],
    ["6", "(body)"],
  ];
  for (const [body, path] of cases) {
    const res = await put(h, body, admin.access_token);
    assert.equal(res.status, 400, JSON.stringify(body));
    const error = await errorOf(res);
    assert.equal(error.code, "VALIDATION_FAILED", JSON.stringify(body));
    const details = error.details as { path: string; message: string }[];
    assert.ok(
      details.some((d) => d.path === path),
      `${JSON.stringify(body)}: ${JSON.stringify(details)}`,
    );
  }
  const malformed = await put(h, "{", admin.access_token);
  assert.equal(malformed.status, 400);
  await malformed.body?.cancel();
  const notJson = await put(h, "otp_length=8", admin.access_token, "text/plain");
  assert.equal(notJson.status, 415);
  assert.equal((await errorOf(notJson)).code, "UNSUPPORTED_MEDIA_TYPE");

  assert.deepEqual(await getStoredSettings(h.ctx.kv), {});
  assert.deepEqual(await settingsOf(h, admin.access_token), DEFAULT_SETTINGS);
  const { code } = await h.requestCode("+14155550101");
  assert.match(code, /^\d{6}$/);
});

Deno.test("admin settings - a change is in force on another instance on the same KV within a second", async () => {
  await using a = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  await using b = await startHarness({ kv: a.ctx.kv, clock: a.clock });
  const admin = await a.signIn(ADMIN);
  assert.match((await b.requestCode("+14155550101")).code, /^\d{6}$/, "b has read the settings");

  const res = await put(a, { otp_length: 4 }, admin.access_token);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.match((await a.requestCode("+14155550102")).code, /^\d{4}$/, "at once where it was made");

  a.clock.advance(1000);
  assert.match((await b.requestCode("+14155550103")).code, /^\d{4}$/);
});

Deno.test("admin settings - 401 without a token, 403 FORBIDDEN for a user, and a user's PUT stores nothing", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const user = await h.signIn("+14155550101");
  const anonymous = await h.get("/api/v1/admin/settings");
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const read = await h.get("/api/v1/admin/settings", { token: user.access_token });
  assert.equal(read.status, 403);
  assert.equal((await errorOf(read)).code, "FORBIDDEN");
  const write = await put(h, { otp_length: 8 }, user.access_token);
  assert.equal(write.status, 403);
  assert.equal((await errorOf(write)).code, "FORBIDDEN");
  assert.deepEqual(await getStoredSettings(h.ctx.kv), {});
});
