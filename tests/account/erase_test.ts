import assert from "node:assert/strict";
import { ERASURE_SETTLE_MS, resumeErasures } from "../../core/account/erase.ts";
import { FakeClock } from "../../core/clock.ts";
import { startEventReceiver } from "../event_webhooks/receiver.ts";
import { type Harness, recordEvents, startHarness } from "../helpers.ts";
import { ADMIN, call, failsWith, json } from "../routes/admin_helpers.ts";
import { createKey } from "../routes/api_key_helpers.ts";
import { assertErased } from "./kv_dump.ts";

const ENV = {
  ADMIN_PHONES: ADMIN,
  OTP_RESEND_COOLDOWN_SECONDS: "0",
  OTP_RATE_LIMIT_PER_HOUR: "1000",
  OTP_IP_RATE_LIMIT_PER_HOUR: "1000",
};
const PHONE = "+14155550142";

function del(h: Harness, path: string, token: string): Promise<Response> {
  return call(h, "DELETE", path, { token });
}

/** Lets the erasure's last pass come due, and runs the sweep that ends it. */
async function settle(h: Harness): Promise<void> {
  h.clock.advance(ERASURE_SETTLE_MS);
  await resumeErasures(h.ctx);
}

Deno.test("erase: a session older than 10 minutes is refused, a refresh does not renew it", async () => {
  await using h = await startHarness({ env: ENV });
  const user = await h.signIn(PHONE);
  h.clock.advance(10 * 60_000);
  const refreshed = await json(
    await h.post("/api/v1/auth/refresh", { refresh_token: user.refresh_token }),
  );
  const token = refreshed.access_token as string;
  await failsWith(await del(h, "/api/v1/me", token), 403, "REAUTH_REQUIRED");
  // Nothing changed: the account still works.
  await json(await h.get("/api/v1/me", { token }));

  // A new sign-in with a code may, at once; a moment short of 10 minutes too.
  const fresh = await h.signIn(PHONE);
  h.clock.advance(10 * 60_000 - 1);
  assert.equal((await del(h, "/api/v1/me", fresh.access_token)).status, 204);
});

Deno.test("erase: the user and every record about them go; the phone signs up anew", async () => {
  await using h = await startHarness({ env: ENV });
  const events = recordEvents(h);
  const watcher = await h.signIn("+14155550143");
  const older = await h.signIn(PHONE);
  const user = await h.signIn(PHONE);
  const id = user.user.id;
  assert.equal(older.user.id, id);
  // A logged-out session (revoked, out of the user's index), a heartbeat, a pending code.
  const other = await h.signIn(PHONE);
  await call(h, "POST", "/api/v1/auth/logout", { token: other.access_token });
  await json(await h.post("/api/v1/presence/heartbeat", {}, { token: user.access_token }));
  await h.requestCode(PHONE);
  const usersBefore = (await json(
    await call(h, "GET", "/api/v1/admin/stats", {
      token: (await h.signIn(ADMIN)).access_token,
    }),
  )).users as { total: number };

  // Sent twice in parallel: one erases; the other meets a dead token (401) or, having
  // authenticated a moment before, an erased user (404) — never a 500.
  const [a, b] = await Promise.all([
    del(h, "/api/v1/me", user.access_token),
    del(h, "/api/v1/me", user.access_token),
  ]);
  const statuses = [a.status, b.status].sort();
  assert.equal(statuses[0], 204);
  assert.ok(statuses[1] === 401 || statuses[1] === 404, String(statuses));
  await a.body?.cancel();
  await b.body?.cancel();

  await failsWith(await h.get("/api/v1/me", { token: user.access_token }), 401, "UNAUTHORIZED");
  await failsWith(await h.get("/api/v1/me", { token: older.access_token }), 401, "UNAUTHORIZED");
  await failsWith(
    await h.post("/api/v1/auth/refresh", { refresh_token: older.refresh_token }),
    401,
    "UNAUTHORIZED",
  );
  await failsWith(await del(h, "/api/v1/me", user.access_token), 401, "UNAUTHORIZED");
  const presence = await json(
    await h.get(`/api/v1/presence?user_ids=${id}`, { token: watcher.access_token }),
  );
  assert.deepEqual(presence.users, [{ user_id: id, status: "offline", last_seen: null }]);
  const admin = await h.signIn(ADMIN);
  await failsWith(
    await call(h, "GET", `/api/v1/admin/users/${id}`, { token: admin.access_token }),
    404,
    "NOT_FOUND",
  );
  const usersAfter = (await json(
    await call(h, "GET", "/api/v1/admin/stats", {
      token: admin.access_token,
    }),
  )).users as { total: number };
  assert.equal(usersAfter.total, usersBefore.total - 1);

  await settle(h);
  assert.equal(events.filter((e) => e.type === "user.deleted").length, 1);
  assert.deepEqual(events.find((e) => e.type === "user.deleted")?.user_id, id);
  await assertErased(h.ctx.kv, { userId: id, contacts: [PHONE] });

  const again = await h.signIn(PHONE);
  assert.notEqual(again.user.id, id);
  await json(await h.get("/api/v1/me", { token: again.access_token }));
});

Deno.test("erase: admin delete needs users:write, is audited naming the key, then 404", async () => {
  await using h = await startHarness({ env: ENV });
  const admin = await h.signIn(ADMIN);
  const reader = await createKey(h, admin.access_token, ["users:read"]);
  const writer = await createKey(h, admin.access_token, ["users:write"]);
  const user = await h.signIn(PHONE);
  const path = `/api/v1/admin/users/${user.user.id}`;

  const refused = await json(await del(h, path, reader.secret), 403);
  assert.deepEqual(
    [
      (refused.error as Record<string, unknown>).code,
      (refused.error as Record<string, unknown>).scope,
    ],
    ["FORBIDDEN", "users:write"],
  );
  await json(await h.get("/api/v1/me", { token: user.access_token }));
  await failsWith(await del(h, path, user.access_token), 403, "FORBIDDEN");

  assert.equal((await del(h, path, writer.secret)).status, 204);
  await failsWith(await h.get("/api/v1/me", { token: user.access_token }), 401, "UNAUTHORIZED");
  const audit = await json(
    await call(h, "GET", "/api/v1/admin/audit", { token: admin.access_token }),
  );
  const entry = (audit.entries as Record<string, unknown>[]).find((e) =>
    e.action === "user.delete"
  );
  assert.ok(entry);
  assert.equal(entry.target, user.user.id);
  assert.equal(entry.target_name, null);
  assert.deepEqual(entry.actor, {
    user_id: null,
    api_key_id: writer.key.id,
    ip: "198.51.100.9",
    name: null,
  });

  // Twice, unknown, malformed: a clear 404, never a 500.
  await failsWith(await del(h, path, writer.secret), 404, "NOT_FOUND");
  await failsWith(await del(h, path, admin.access_token), 404, "NOT_FOUND");
  await failsWith(await del(h, "/api/v1/admin/users/usr_nobody", writer.secret), 404, "NOT_FOUND");
  for (const bad of ["usr%20x", "a".repeat(65), "%00", "usr_%E2%80%A2"]) {
    const res = await del(h, `/api/v1/admin/users/${bad}`, writer.secret);
    assert.equal(res.status, 404, bad);
    await res.body?.cancel();
  }
  await settle(h);
  await assertErased(h.ctx.kv, { userId: user.user.id, contacts: [PHONE] });
});

Deno.test("export: the caller's user, sessions, presence settings and events", async () => {
  await using h = await startHarness({ env: ENV });
  const first = await h.signIn(PHONE);
  const user = await h.signIn(PHONE);
  await json(await h.post("/api/v1/presence/heartbeat", {}, { token: user.access_token }));
  const res = await h.get("/api/v1/me/export", { token: user.access_token });
  const body = await json(res);
  assert.deepEqual(Object.keys(body).sort(), ["events", "presence", "sessions", "user"]);
  assert.equal((body.user as { id: string }).id, user.user.id);
  assert.equal((body.user as { phone: string }).phone, PHONE);
  const sessions = body.sessions as { id: string }[];
  assert.equal(sessions.length, 2);
  assert.deepEqual(body.presence, { visibility: "everyone", contacts: [] });
  const types = (body.events as { data: { type: string; user_id: string } }[]).map((e) =>
    e.data.type
  );
  assert.deepEqual(types.filter((t) => t === "otp.verified").length, 2);
  assert.ok(types.includes("presence.online"));
  assert.ok(
    (body.events as { data: { user_id: string } }[]).every((e) => e.data.user_id === user.user.id),
  );
  // Nothing secret: no token, hash or code of the caller is in it.
  const text = JSON.stringify(body);
  for (const secret of [user.refresh_token, first.refresh_token, user.access_token]) {
    assert.ok(!text.includes(secret));
  }

  // An admin (or a users:read key) reads the same; an erased user is 404.
  const admin = await h.signIn(ADMIN);
  const key = await createKey(h, admin.access_token, ["users:read"]);
  const path = `/api/v1/admin/users/${user.user.id}/export`;
  const byKey = await json(await call(h, "GET", path, { token: key.secret }));
  assert.deepEqual(byKey.user, body.user);
  await failsWith(await h.get("/api/v1/me/export"), 401, "UNAUTHORIZED");
  assert.equal((await del(h, "/api/v1/me", user.access_token)).status, 204);
  await failsWith(await call(h, "GET", path, { token: key.secret }), 404, "NOT_FOUND");
});

Deno.test("erase: one user.deleted event, id only, goes out to the event webhook", async () => {
  const secret = "event-hook-secret-0123456789";
  const clock = new FakeClock();
  await using receiver = await startEventReceiver(secret, { now: () => clock.now() });
  await using h = await startHarness({
    clock,
    env: {
      ...ENV,
      EVENT_WEBHOOK_URL: receiver.url,
      EVENT_WEBHOOK_SECRET: secret,
      EVENT_WEBHOOK_TYPES: "user.*",
    },
  });
  const user = await h.signIn(PHONE);
  assert.equal((await del(h, "/api/v1/me", user.access_token)).status, 204);
  await settle(h);
  await h.ctx.commits.flush();
  await h.ctx.webhooks!.settled();
  const deleted = receiver.deliveries.filter((d) => d.type === "user.deleted");
  assert.equal(deleted.length, 1);
  assert.ok(deleted[0].verified);
  const { type: _type, at: _at, ...fields } = deleted[0].body.data;
  assert.deepEqual(fields, { user_id: user.user.id });
});
