import assert from "node:assert/strict";
import { readOnlineCount } from "../../kv/presence.ts";
import { type Harness, recordEvents } from "../helpers.ts";
import {
  ADMIN,
  ADMIN_IP,
  adminHarness,
  assertCsrfGuarded,
  call,
  dashboardCookie,
  failsWith,
  json,
} from "./admin_helpers.ts";

const USER = "+14155550101";

interface Detail {
  user: { id: string; phone: string; status: string; presence: { status: string } };
  sessions: Record<string, unknown>[];
  events: { id: string; kind: string; data: { type: string; at: string; user_id?: string } }[];
}

async function detailOf(h: Harness, id: string, token: string): Promise<Detail> {
  return await json(await call(h, "GET", `/api/v1/admin/users/${id}`, { token })) as never;
}

async function signInTwice(h: Harness, phone: string) {
  const first = await h.signIn(phone);
  h.clock.advance(61_000);
  const second = await h.signIn(phone);
  return [first, second];
}

Deno.test("admin user detail - the user with presence, their sign-ins and their events, newest first", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const [first, second] = await signInTwice(h, USER);
  await h.signIn("+14155550102");
  const body = await detailOf(h, first.user.id, admin.access_token);

  assert.equal(body.user.id, first.user.id);
  assert.equal(body.user.phone, USER);
  assert.equal(body.user.presence.status, "online");
  assert.equal(body.sessions.length, 2);
  assert.deepEqual(Object.keys(body.sessions[0]).sort(), [
    "created_at",
    "id",
    "ip",
    "last_used_at",
    "user_agent",
  ]);
  assert.equal(body.sessions[0].created_at, "2026-11-21T10:01:01.000Z", "newest first");
  assert.equal(body.sessions[0].ip, "203.0.113.7");
  assert.equal(second.user.id, first.user.id);

  assert.deepEqual(body.events.map((e) => e.data.type), [
    "otp.verified",
    "presence.online",
    "otp.verified",
  ]);
  const ids = body.events.map((e) => e.id);
  assert.deepEqual(ids, [...ids].sort().reverse(), "newest first");
  assert.ok(body.events.every((e) => e.data.user_id === first.user.id), "only this user's");
  assert.equal(body.events[1].kind, "presence");
  assert.equal(body.events[0].data.at, "2026-11-21T10:01:01.000Z");
});

Deno.test("admin user detail - at most the 50 newest events; unknown user 404; 401 and 403", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn(USER);
  // Each role change is a `user.updated` and an `audit` event about the user.
  for (let i = 0; i < 30; i++) {
    const role = i % 2 === 0 ? "admin" : "user";
    const res = await call(h, "PATCH", `/api/v1/admin/users/${user.user.id}`, {
      token: admin.access_token,
    }, { role });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  const { events } = await detailOf(h, user.user.id, admin.access_token);
  assert.equal(events.length, 50);
  assert.equal(events[0].data.type, "user.updated", "the last change's events come first");
  assert.ok(!events.some((e) => e.data.type === "otp.verified"), "the oldest fell off");

  const unknown = await call(h, "GET", "/api/v1/admin/users/usr_01M7YRRT8000SF59MQA2HP4QA7", {
    token: admin.access_token,
  });
  await failsWith(unknown, 404, "NOT_FOUND");
  const other = await h.signIn("+14155550102");
  const path = `/api/v1/admin/users/${user.user.id}`;
  await failsWith(await call(h, "GET", path), 401, "UNAUTHORIZED");
  await failsWith(await call(h, "GET", path, { token: other.access_token }), 403, "FORBIDDEN");
});

Deno.test("admin user detail - DELETE one sign-in: it ends everywhere, the other stays, audited", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const [first, second] = await signInTwice(h, USER);
  const events = recordEvents(h);
  const before = await detailOf(h, first.user.id, admin.access_token);
  const ended = before.sessions[1].id as string;

  const res = await call(
    h,
    "DELETE",
    `/api/v1/admin/users/${first.user.id}/sessions/${ended}`,
    { token: admin.access_token },
  );
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  await failsWith(await h.get("/api/v1/me", { token: first.access_token }), 401, "UNAUTHORIZED");
  assert.equal((await h.get("/api/v1/me", { token: second.access_token })).status, 200);
  const after = await detailOf(h, first.user.id, admin.access_token);
  assert.deepEqual(after.sessions.map((s) => s.id), [before.sessions[0].id]);
  assert.equal(after.user.presence.status, "online", "another sign-in is still open");

  const audit = await json(
    await call(h, "GET", "/api/v1/admin/audit", { token: admin.access_token }),
  );
  const [entry] = audit.entries as Record<string, unknown>[];
  assert.equal(entry.action, "user.sessions_revoke");
  assert.equal(entry.target, first.user.id);
  assert.deepEqual(entry.actor, { user_id: admin.user.id, ip: ADMIN_IP, name: ADMIN });
  assert.deepEqual(entry.changes, {
    sessions: { from: 2, to: 1 },
    session: { from: ended, to: null },
  });
  assert.deepEqual(
    events.filter((e) => e.type !== "presence.online").map((e) => [e.type, e.family_id ?? null]),
    [["user.signed_out", ended], ["user.sessions_revoke", null]],
  );
  assert.equal(events.find((e) => e.type === "user.signed_out")?.by, admin.user.id);
  assert.ok(after.events.some((e) => e.data.type === "user.sessions_revoke"));

  // Ended already, unknown, or another user's: 404.
  const theirs = await detailOf(h, admin.user.id, admin.access_token);
  for (
    const path of [
      `/api/v1/admin/users/${first.user.id}/sessions/${ended}`,
      `/api/v1/admin/users/${first.user.id}/sessions/${theirs.sessions[0].id}`,
      `/api/v1/admin/users/usr_01M7YRRT8000SF59MQA2HP4QA7/sessions/${ended}`,
      `/api/v1/admin/users/${first.user.id}/sessions/fam_x`,
    ]
  ) {
    await failsWith(await call(h, "DELETE", path, { token: admin.access_token }), 404, "NOT_FOUND");
  }
});

Deno.test("admin user detail - DELETE all sign-ins: every token fails and the user goes offline", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const tokens = await signInTwice(h, USER);
  const userId = tokens[0].user.id;
  assert.equal(await readOnlineCount(h.ctx.kv), 2);

  const res = await call(h, "DELETE", `/api/v1/admin/users/${userId}/sessions`, {
    token: admin.access_token,
  });
  assert.equal(res.status, 204);
  for (const { access_token, refresh_token } of tokens) {
    await failsWith(await h.get("/api/v1/me", { token: access_token }), 401, "UNAUTHORIZED");
    await failsWith(
      await h.post("/api/v1/auth/refresh", { refresh_token }),
      401,
      "UNAUTHORIZED",
    );
  }
  const after = await detailOf(h, userId, admin.access_token);
  assert.deepEqual(after.sessions, []);
  assert.equal(after.user.presence.status, "offline");
  assert.equal(await readOnlineCount(h.ctx.kv), 1);
  const audit = await json(
    await call(h, "GET", "/api/v1/admin/audit", { token: admin.access_token }),
  );
  const [entry] = audit.entries as Record<string, unknown>[];
  assert.equal(entry.action, "user.sessions_revoke");
  assert.deepEqual(entry.changes, { sessions: { from: 2, to: 0 } });

  const unknown = await call(h, "DELETE", "/api/v1/admin/users/usr_nobody/sessions", {
    token: admin.access_token,
  });
  await failsWith(unknown, 404, "NOT_FOUND");
  const other = await h.signIn("+14155550102");
  const path = `/api/v1/admin/users/${userId}/sessions`;
  await failsWith(await call(h, "DELETE", path, { token: other.access_token }), 403, "FORBIDDEN");
});

Deno.test("admin user detail - with the dashboard cookie the DELETEs need a same-origin request", async () => {
  await using h = await adminHarness();
  const user = await h.signIn(USER);
  const [session] = (await detailOf(h, user.user.id, (await h.signIn(ADMIN)).access_token))
    .sessions;
  const one = `/api/v1/admin/users/${user.user.id}/sessions/${session.id}`;
  await assertCsrfGuarded(h, { method: "DELETE", path: one });
  await assertCsrfGuarded(h, {
    method: "DELETE",
    path: `/api/v1/admin/users/${user.user.id}/sessions`,
  });
  assert.equal((await h.get("/api/v1/me", { token: user.access_token })).status, 200);

  const cookie = await dashboardCookie(h);
  const same = await call(h, "DELETE", one, {
    cookie,
    headers: { "sec-fetch-site": "same-origin" },
  });
  assert.equal(same.status, 204);
  await failsWith(await h.get("/api/v1/me", { token: user.access_token }), 401, "UNAUTHORIZED");
  const read = await call(h, "GET", `/api/v1/admin/users/${user.user.id}`, { cookie });
  assert.equal(read.status, 200, "a GET needs no same-origin proof");
  await read.body?.cancel();
});

Deno.test("admin user detail - events older than the log's 24 h are not shown", async () => {
  await using h = await adminHarness({ ACCESS_TOKEN_TTL_SECONDS: "86400" });
  const user = await h.signIn(USER);
  h.clock.advance(24 * 3_600_000 + 60_000);
  const admin = await h.signIn(ADMIN);
  const { events } = await detailOf(h, user.user.id, admin.access_token);
  // Only the timeout, noticed now, is new; the day-old sign-in is gone.
  assert.deepEqual(events.map((e) => e.data.type), ["presence.offline"]);
});
