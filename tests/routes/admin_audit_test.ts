import assert from "node:assert/strict";
import type { AuditView } from "../../core/admin/audit.ts";
import { newId } from "../../core/ids.ts";
import { DEFAULT_SETTINGS } from "../../core/settings.ts";
import { addAudit } from "../../kv/audit.ts";
import { Writes } from "../../kv/writes.ts";
import { type Harness, recordEvents } from "../helpers.ts";
import {
  ADMIN,
  ADMIN_EMAIL,
  ADMIN_IP,
  adminHarness,
  assertCsrfGuarded,
  call,
  dashboardCookie,
  failsWith,
  json,
} from "./admin_helpers.ts";

async function auditOf(
  h: Harness,
  token: string,
  query = "",
): Promise<{ entries: AuditView[]; cursor: string | null }> {
  return await json(await call(h, "GET", `/api/v1/admin/audit${query}`, { token })) as never;
}

Deno.test("admin audit - a PATCH of a user is audited with each changed field, actor and IP", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550101");
  const events = recordEvents(h);
  h.clock.advance(5_000);
  const res = await call(h, "PATCH", `/api/v1/admin/users/${user.user.id}`, {
    token: admin.access_token,
  }, { status: "suspended", role: "user" });
  assert.equal(res.status, 200);
  await res.body?.cancel();

  const { entries, cursor } = await auditOf(h, admin.access_token);
  assert.equal(cursor, null);
  assert.equal(entries.length, 1);
  const [entry] = entries;
  assert.match(entry.id, /^aud_[0-9A-Z]{26}$/);
  assert.deepEqual({ ...entry, id: "" }, {
    id: "",
    at: "2026-11-21T10:00:05.000Z",
    actor: { user_id: admin.user.id, ip: ADMIN_IP, name: ADMIN },
    action: "user.update",
    target: user.user.id,
    target_name: "+14155550101",
    changes: { status: { from: "active", to: "suspended" } },
  });
  const audit = events.find((e) => e.type === "user.update")!;
  assert.equal(audit.id, entry.id);
  assert.deepEqual(audit.changes, entry.changes);
  // Events keep ids only (their recipients are masked): the names are the list's.
  assert.deepEqual(audit.actor, { user_id: admin.user.id, ip: ADMIN_IP });
  const updated = events.find((e) => e.type === "user.updated")!;
  assert.equal(updated.by, admin.user.id, "user.updated names the admin");

  // Nothing changed: nothing to audit.
  const same = await call(h, "PATCH", `/api/v1/admin/users/${user.user.id}`, {
    token: admin.access_token,
  }, { status: "suspended" });
  assert.equal(same.status, 200);
  await same.body?.cancel();
  assert.equal((await auditOf(h, admin.access_token)).entries.length, 1);
});

Deno.test("admin audit - settings changes and resets are audited; entries page newest first", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const token = admin.access_token;
  const put = (body: unknown) => call(h, "PUT", "/api/v1/admin/settings", { token }, body);
  await json(await put({ otp_length: 8 }));
  h.clock.advance(1_000);
  await json(await put({ otp_length: 8, otp_ttl_seconds: 120 }));
  h.clock.advance(1_000);
  const reset = await json(await call(h, "DELETE", "/api/v1/admin/settings/otp_length", { token }));
  assert.deepEqual(reset, { ...DEFAULT_SETTINGS, otp_ttl_seconds: 120 });

  const all = await auditOf(h, token);
  assert.deepEqual(all.entries.map((e) => [e.action, e.target, e.target_name, e.changes]), [
    ["settings.update", "settings", null, { otp_length: { from: 8, to: 6 } }],
    ["settings.update", "settings", null, { otp_ttl_seconds: { from: 300, to: 120 } }],
    ["settings.update", "settings", null, { otp_length: { from: 6, to: 8 } }],
  ]);
  assert.ok(all.entries.every((e) => e.actor.name === ADMIN), "each names the admin");

  const first = await auditOf(h, token, "?limit=2");
  assert.equal(first.entries.length, 2);
  assert.ok(first.cursor);
  const second = await auditOf(h, token, `?limit=2&cursor=${encodeURIComponent(first.cursor!)}`);
  assert.deepEqual(
    [...first.entries, ...second.entries].map((e) => e.id),
    all.entries.map((e) => e.id),
  );
  assert.equal(second.cursor, null);

  for (const bad of ["?limit=0", "?limit=500", "?cursor=%25%25", "?x=1"]) {
    await failsWith(
      await call(h, "GET", `/api/v1/admin/audit${bad}`, { token }),
      400,
      "VALIDATION_FAILED",
    );
  }
  const user = await h.signIn("+14155550101");
  await failsWith(await call(h, "GET", "/api/v1/admin/audit"), 401, "UNAUTHORIZED");
  await failsWith(
    await call(h, "GET", "/api/v1/admin/audit", { token: user.access_token }),
    403,
    "FORBIDDEN",
  );
});

Deno.test("admin settings - DELETE /settings/:name puts one back to its default; unknown is 404", async () => {
  await using h = await adminHarness({ OTP_LENGTH: "8" });
  const admin = await h.signIn(ADMIN);
  const token = admin.access_token;
  await json(
    await call(h, "PUT", "/api/v1/admin/settings", { token }, {
      otp_length: 5,
      presence_timeout_seconds: 20,
      heartbeat_interval_seconds: 10,
    }),
  );
  const res = await call(h, "DELETE", "/api/v1/admin/settings/otp_length", { token });
  assert.deepEqual(await json(res), {
    ...DEFAULT_SETTINGS,
    otp_length: 8,
    presence_timeout_seconds: 20,
    heartbeat_interval_seconds: 10,
  }, "back to the environment's value, the others kept");
  // Not overridden: nothing changes, nothing is audited.
  await json(await call(h, "DELETE", "/api/v1/admin/settings/otp_length", { token }));
  assert.equal((await auditOf(h, token)).entries.length, 2);
  // The timeout's default (120 s) fits the heartbeat (10 s); a reset that would not fit is 400.
  await json(
    await call(h, "DELETE", "/api/v1/admin/settings/presence_timeout_seconds", {
      token,
    }),
  );
  await json(
    await call(h, "PUT", "/api/v1/admin/settings", { token }, {
      heartbeat_interval_seconds: 200,
      presence_timeout_seconds: 300,
    }),
  );
  await failsWith(
    await call(h, "DELETE", "/api/v1/admin/settings/presence_timeout_seconds", { token }),
    400,
    "VALIDATION_FAILED",
  );
  await failsWith(
    await call(h, "DELETE", "/api/v1/admin/settings/no_such_setting", { token }),
    404,
    "NOT_FOUND",
  );
  await assertCsrfGuarded(h, { method: "DELETE", path: "/api/v1/admin/settings/otp_length" });
  const user = await h.signIn("+14155550101");
  await failsWith(
    await call(h, "DELETE", "/api/v1/admin/settings/otp_length", { token: user.access_token }),
    403,
    "FORBIDDEN",
  );
});

Deno.test("admin config - settings with defaults and overrides, boot config masked, no secrets", async () => {
  await using h = await adminHarness({
    OTP_LENGTH: "8",
    OTP_TEST_RECIPIENTS: "+12125550100=424242,review@example.com=000000",
    SMS_ALLOWED_COUNTRIES: "US,CA",
    SMS_DAILY_LIMIT: "500",
  });
  const admin = await h.signIn(ADMIN);
  const token = admin.access_token;
  await json(await call(h, "PUT", "/api/v1/admin/settings", { token }, { otp_ttl_seconds: 120 }));
  const res = await call(h, "GET", "/api/v1/admin/config", { token });
  const body = await json(res) as {
    settings: Record<string, { value: number; default: number; overridden: boolean }>;
    boot: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(body.settings), Object.keys(DEFAULT_SETTINGS));
  assert.deepEqual(body.settings.otp_length, { value: 8, default: 8, overridden: false });
  assert.deepEqual(body.settings.otp_ttl_seconds, { value: 120, default: 300, overridden: true });
  assert.deepEqual(body.boot, {
    app_env: "test",
    public_url: "http://localhost:8000",
    kv: "file",
    trust_proxy: false,
    providers: { sms: "webhook", email: "webhook", telegram_bot: false, telegram_gateway: false },
    access_token_ttl_seconds: 900,
    refresh_token_ttl_seconds: 2_592_000,
    admins: { phones: ["+1415•••0000"], emails: ["o•••@example.com"] },
    sms_protection: {
      allowed_countries: ["US", "CA"],
      prefix_limit_per_hour: 30,
      prefix_autoblock: true,
      daily_limit: 500,
    },
    test_recipients: 2,
    event_webhook: null,
  });
  const text = JSON.stringify(body);
  for (const secret of ["test-secret", "sms-hook-secret", "424242", "000000", "review@"]) {
    assert.ok(!text.includes(secret), secret);
  }
  const user = await h.signIn("+14155550101");
  await failsWith(await call(h, "GET", "/api/v1/admin/config"), 401, "UNAUTHORIZED");
  await failsWith(
    await call(h, "GET", "/api/v1/admin/config", { token: user.access_token }),
    403,
    "FORBIDDEN",
  );
});

Deno.test("admin audit - names are the users' as they are now: email first, none when unknown", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const token = admin.access_token;
  // The dashboard's admin signs in by email, and changes a setting from the page.
  const cookie = await dashboardCookie(h);
  const put = await call(h, "PUT", "/api/v1/admin/settings", {
    cookie,
    headers: { "sec-fetch-site": "same-origin" },
  }, { otp_length: 7 });
  await json(put);
  // An entry whose actor is no user (a job, or a user since gone) has no name.
  h.clock.advance(1_000);
  const writes = addAudit(new Writes(), {
    id: newId("aud", h.clock.now()),
    at: h.clock.now(),
    actor: { userId: "", ip: "127.0.0.1" },
    action: "settings.update",
    target: "settings",
    changes: { otp_length: { from: 7, to: 6 } },
  });
  assert.ok(await h.ctx.commits.commit(writes));

  const { entries } = await auditOf(h, token);
  assert.deepEqual(entries.map((e) => [e.actor.name, e.actor.ip]), [
    [null, "127.0.0.1"],
    [ADMIN_EMAIL, ADMIN_IP],
  ]);
});
