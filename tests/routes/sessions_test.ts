import assert from "node:assert/strict";
import { listSessions } from "../../core/auth/session_list.ts";
import { keys } from "../../kv/keys.ts";
import { type Harness, type SignInBody, startHarness, waitFor } from "../helpers.ts";
import { call, failsWith, json } from "./admin_helpers.ts";

const PHONE = "+14155550101";

interface SessionView {
  id: string;
  created_at: string;
  last_used_at: string;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
}

/** Signs `phone` in from a client with this user agent and IP. */
async function signInFrom(
  h: Harness,
  phone: string,
  client: { userAgent?: string; ip?: string } = {},
): Promise<SignInBody> {
  const { requestId, code } = await h.requestCode(phone, client.ip);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (client.userAgent) headers["user-agent"] = client.userAgent;
  const res = await h.app.request("/api/v1/auth/otp/verify", {
    method: "POST",
    headers,
    body: JSON.stringify({ request_id: requestId, code }),
  }, { remoteAddr: { transport: "tcp", hostname: client.ip ?? "203.0.113.7", port: 50000 } });
  assert.equal(res.status, 200);
  return await res.json();
}

async function sessionsOf(h: Harness, token: string): Promise<SessionView[]> {
  const body = await json(await call(h, "GET", "/api/v1/sessions", { token }));
  return body.sessions as SessionView[];
}

Deno.test("sessions - GET lists active sign-ins newest first, with user agent, IP and the current one", async () => {
  await using h = await startHarness();
  const phone = await signInFrom(h, PHONE, { userAgent: "Phone/1.0", ip: "192.0.2.10" });
  h.clock.advance(61_000);
  const laptop = await signInFrom(h, PHONE, { userAgent: "Laptop/2.0", ip: "192.0.2.20" });
  h.clock.advance(61_000);
  await signInFrom(h, "+14155550102");

  const seen = await sessionsOf(h, phone.access_token);
  assert.deepEqual(seen.map((s) => [s.user_agent, s.ip, s.current]), [
    ["Laptop/2.0", "192.0.2.20", false],
    ["Phone/1.0", "192.0.2.10", true],
  ]);
  assert.match(seen[0].id, /^fam_[0-9A-Z]{26}$/);
  assert.equal(seen[0].created_at, "2026-11-21T10:01:01.000Z");
  assert.equal(seen[0].last_used_at, seen[0].created_at, "not used since: its creation");
  assert.equal(seen[1].created_at, "2026-11-21T10:00:00.000Z");
  assert.equal(seen[1].last_used_at, "2026-11-21T10:02:02.000Z", "this very call used it");
  const fromLaptop = await sessionsOf(h, laptop.access_token);
  assert.deepEqual(fromLaptop.map((s) => s.current), [true, false]);
});

Deno.test("sessions - a user agent is kept to 256 characters; without one it is null", async () => {
  await using h = await startHarness();
  const long = await signInFrom(h, PHONE, { userAgent: `Agent/${"x".repeat(400)}` });
  h.clock.advance(61_000);
  await signInFrom(h, PHONE);
  const [none, kept] = await sessionsOf(h, long.access_token);
  assert.equal(kept.user_agent, `Agent/${"x".repeat(250)}`);
  assert.equal(none.user_agent, null);
  assert.equal(none.ip, "203.0.113.7");
});

Deno.test("sessions - last_used_at follows refreshes and use, written at most once a minute", async () => {
  await using h = await startHarness();
  const first = await signInFrom(h, PHONE);
  const watcher = await signInFrom(h, "+14155550102");
  const [{ id }] = await sessionsOf(h, first.access_token);
  const noted = async () => (await h.ctx.kv.get(keys.sessionUsed(id))).value;

  h.clock.advance(30_000);
  for (let i = 0; i < 5; i++) {
    await (await h.get("/api/v1/me", { token: first.access_token })).body?.cancel();
  }
  await h.ctx.sessionUse.settled();
  assert.equal(await noted(), null, "use within the first minute writes nothing");

  h.clock.advance(40_000); // 10:01:10
  for (let i = 0; i < 5; i++) {
    await (await h.post("/api/v1/presence/heartbeat", {}, { token: first.access_token })).body
      ?.cancel();
  }
  await h.ctx.sessionUse.settled();
  assert.equal(await noted(), Date.parse("2026-11-21T10:01:10.000Z"), "one write for five uses");
  h.clock.advance(20_000);
  await (await h.get("/api/v1/me", { token: first.access_token })).body?.cancel();
  await h.ctx.sessionUse.settled();
  assert.equal(await noted(), Date.parse("2026-11-21T10:01:10.000Z"), "not again within a minute");

  // Another instance on the same KV reads what this one wrote.
  await using other = await startHarness({ kv: h.ctx.kv, clock: h.clock });
  const [seen] = await listSessions(other.ctx, first.user.id);
  assert.equal(seen.last_used_at, "2026-11-21T10:01:10.000Z");
  assert.equal((await sessionsOf(other, watcher.access_token)).length, 1, "one's own only");

  h.clock.advance(60_000); // 10:02:30
  const refreshed = await json(
    await h.post("/api/v1/auth/refresh", { refresh_token: first.refresh_token }),
  );
  const [after] = await sessionsOf(h, refreshed.access_token as string);
  assert.equal(after.id, id, "a refresh continues the same sign-in");
  assert.equal(after.last_used_at, "2026-11-21T10:02:30.000Z");
  assert.equal(after.created_at, "2026-11-21T10:00:00.000Z");
});

Deno.test("sessions - DELETE /sessions/:id ends that sign-in at once: access and refresh tokens fail", async () => {
  await using h = await startHarness();
  const mine = await signInFrom(h, PHONE);
  h.clock.advance(61_000);
  const other = await signInFrom(h, PHONE);
  const [otherSession, current] = await sessionsOf(h, mine.access_token);
  assert.equal(current.current, true);

  const res = await call(h, "DELETE", `/api/v1/sessions/${otherSession.id}`, {
    token: mine.access_token,
  });
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  await failsWith(await h.get("/api/v1/me", { token: other.access_token }), 401, "UNAUTHORIZED");
  await failsWith(
    await h.post("/api/v1/auth/refresh", { refresh_token: other.refresh_token }),
    401,
    "UNAUTHORIZED",
  );
  assert.deepEqual((await sessionsOf(h, mine.access_token)).map((s) => s.id), [current.id]);
  // Ended already, unknown, or not a sign-in id at all: 404.
  for (const id of [otherSession.id, "fam_01M7YRRT8000SF59MQA2HP4QA7", "nope"]) {
    const again = await call(h, "DELETE", `/api/v1/sessions/${id}`, { token: mine.access_token });
    await failsWith(again, 404, "NOT_FOUND");
  }
});

Deno.test("sessions - another user's sign-in is 404 and stays open; no token is 401", async () => {
  await using h = await startHarness();
  const mine = await signInFrom(h, PHONE);
  const theirs = await signInFrom(h, "+14155550102");
  const [their] = await sessionsOf(h, theirs.access_token);
  const res = await call(h, "DELETE", `/api/v1/sessions/${their.id}`, { token: mine.access_token });
  await failsWith(res, 404, "NOT_FOUND");
  assert.equal((await h.get("/api/v1/me", { token: theirs.access_token })).status, 200);
  for (
    const [method, path] of [
      ["GET", "/api/v1/sessions"],
      ["DELETE", "/api/v1/sessions"],
      ["DELETE", `/api/v1/sessions/${their.id}`],
    ]
  ) {
    await failsWith(await call(h, method, path), 401, "UNAUTHORIZED");
  }
});

Deno.test("sessions - DELETE /sessions ends every other sign-in; the current one and presence stay", async () => {
  await using h = await startHarness();
  const others = [await signInFrom(h, PHONE)];
  h.clock.advance(61_000);
  others.push(await signInFrom(h, PHONE));
  h.clock.advance(61_000);
  const mine = await signInFrom(h, PHONE);
  const elsewhere = await signInFrom(h, "+14155550102");
  assert.equal((await sessionsOf(h, mine.access_token)).length, 3);

  const res = await call(h, "DELETE", "/api/v1/sessions", { token: mine.access_token });
  assert.equal(res.status, 204);
  for (const other of others) {
    await failsWith(await h.get("/api/v1/me", { token: other.access_token }), 401, "UNAUTHORIZED");
  }
  const left = await sessionsOf(h, mine.access_token);
  assert.deepEqual(left.map((s) => s.current), [true]);
  assert.equal((await h.get("/api/v1/me", { token: elsewhere.access_token })).status, 200);
  const presence = await json(
    await h.get(`/api/v1/presence?user_ids=${mine.user.id}`, { token: mine.access_token }),
  );
  assert.equal((presence.users as { status: string }[])[0].status, "online");
});

Deno.test("sessions - a sign-in ended on one instance stops working on another at once", async () => {
  await using a = await startHarness();
  await using b = await startHarness({ kv: a.ctx.kv, clock: a.clock });
  const mine = await signInFrom(a, PHONE);
  a.clock.advance(61_000);
  const other = await signInFrom(a, PHONE);
  // B has the other sign-in cached as open.
  assert.equal((await b.get("/api/v1/me", { token: other.access_token })).status, 200);
  const [ended] = (await sessionsOf(a, mine.access_token)).filter((s) => !s.current);
  const res = await call(a, "DELETE", `/api/v1/sessions/${ended.id}`, { token: mine.access_token });
  assert.equal(res.status, 204);
  await waitFor(async () => {
    const me = await b.get("/api/v1/me", { token: other.access_token });
    await me.body?.cancel();
    return me.status === 401;
  }, 1_500);
});
