import assert from "node:assert/strict";
import { newId } from "../../core/ids.ts";
import { readOnlineCount } from "../../kv/presence.ts";
import { emptyUserEntry, saveUser, type User } from "../../kv/users.ts";
import {
  errorOf,
  type Harness,
  openSocket,
  serveHarness,
  startHarness,
  ticketUrl,
} from "../helpers.ts";

const ADMIN = "+14155550000";

function adminHarness() {
  return startHarness({ env: { ADMIN_PHONES: ADMIN } });
}

function patch(h: Harness, id: string, body: unknown, token: string) {
  return h.app.request(`/api/v1/admin/users/${id}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

/** Reads server-sent events from a streaming response. */
async function* sseEvents(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const at = line.indexOf(":");
          fields[line.slice(0, at)] = line.slice(at + 1).trimStart();
        }
        if (fields.data) {
          yield { id: fields.id, event: fields.event, data: JSON.parse(fields.data) };
        }
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

Deno.test("admin - suspending a user: offline, 403 heartbeat, socket 4003, refresh revoked", async () => {
  await using h = await adminHarness();
  await using server = serveHarness(h);
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550100");
  await using ws = await openSocket(await ticketUrl(h, server.wsUrl, user.access_token));
  await ws.next();
  assert.equal(await readOnlineCount(h.ctx.kv), 2);

  const res = await patch(h, user.user.id, { status: "suspended" }, admin.access_token);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.user.status, "suspended");
  assert.equal(body.user.id, user.user.id);

  assert.equal((await ws.closed).code, 4003);
  const beat = await h.post("/api/v1/presence/heartbeat", {}, { token: user.access_token });
  assert.equal(beat.status, 403);
  const error = await errorOf(beat);
  assert.equal(error.code, "ACCOUNT_DISABLED");
  assert.equal(error.status, "suspended");
  const refresh = await h.post("/api/v1/auth/refresh", { refresh_token: user.refresh_token });
  assert.equal(refresh.status, 401);
  await refresh.body?.cancel();
  const presence = await h.get(`/api/v1/presence?user_ids=${user.user.id}`, {
    token: admin.access_token,
  });
  assert.equal((await presence.json()).users[0].status, "offline");
  assert.equal(await readOnlineCount(h.ctx.kv), 1);

  // Reactivated, the user signs in again and is online again.
  const back = await patch(h, user.user.id, { status: "active" }, admin.access_token);
  assert.equal(back.status, 200);
  await back.body?.cancel();
  h.clock.advance(61_000);
  await h.signIn("+14155550100");
  assert.equal(await readOnlineCount(h.ctx.kv), 2);
});

Deno.test("admin - only admins get in: 401 without a token, 403 FORBIDDEN for users", async () => {
  await using h = await adminHarness();
  const user = await h.signIn("+14155550100");
  assert.equal((await h.get("/api/v1/admin/users")).status, 401);
  const res = await h.get("/api/v1/admin/users", { token: user.access_token });
  assert.equal(res.status, 403);
  assert.equal((await errorOf(res)).code, "FORBIDDEN");
  const selfPromotion = await patch(h, user.user.id, { role: "admin" }, user.access_token);
  assert.equal(selfPromotion.status, 403);
  await selfPromotion.body?.cancel();
});

Deno.test("admin - a role given by PATCH takes effect at once", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550100");
  const res = await patch(h, user.user.id, { role: "admin" }, admin.access_token);
  assert.equal((await res.json()).user.role, "admin");
  const list = await h.get("/api/v1/admin/users", { token: user.access_token });
  assert.equal(list.status, 200, "the stored role counts, not the one in the token");
  await list.body?.cancel();
});

Deno.test("admin - PATCH validates its input", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550100");
  for (const body of [{}, { status: "deleted" }, { role: "root" }, { status: "active", x: 1 }]) {
    const res = await patch(h, user.user.id, body, admin.access_token);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal((await errorOf(res)).code, "VALIDATION_FAILED");
  }
  const missing = await patch(h, "usr_missing", { status: "banned" }, admin.access_token);
  assert.equal(missing.status, 404);
  assert.equal((await errorOf(missing)).code, "NOT_FOUND");
});

Deno.test("admin - the user list filters by presence, searches and pages", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const ids: string[] = [admin.user.id];
  for (let i = 1; i <= 4; i++) ids.push((await h.signIn(`+1415555010${i}`)).user.id);
  const requested = await h.post("/api/v1/auth/otp/request", { email: "grace@example.com" });
  const grace = await h.post("/api/v1/auth/otp/verify", {
    request_id: (await requested.json()).request_id,
    code: h.email.lastCode("grace@example.com"),
  });
  assert.equal(grace.status, 200);
  await grace.body?.cancel();
  h.clock.advance(100_000);
  // Keep two users online; the others fall silent past the timeout.
  for (const phone of [ADMIN, "+14155550101"]) {
    const { access_token } = await h.signIn(phone);
    await (await h.post("/api/v1/presence/heartbeat", {}, { token: access_token })).body?.cancel();
  }
  h.clock.advance(30_000);
  const list = async (query: string) => {
    const res = await h.get(`/api/v1/admin/users?${query}`, { token: admin.access_token });
    assert.equal(res.status, 200, query);
    return await res.json();
  };
  const online = await list("status=online");
  assert.deepEqual(online.users.map((u: { id: string }) => u.id).sort(), [ids[0], ids[1]].sort());
  assert.equal(online.users[0].presence.status, "online");
  const offline = await list("status=offline");
  assert.equal(offline.users.length, 4);
  assert.ok(
    offline.users.every((u: { presence: { status: string } }) => u.presence.status === "offline"),
  );

  const all: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { users: { id: string }[]; cursor: string | null } = await list(
      `status=all&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    assert.ok(page.users.length <= 2);
    all.push(...page.users.map((u) => u.id));
    cursor = page.cursor;
  } while (cursor);
  assert.equal(all.length, 6);
  assert.deepEqual([...all].sort().reverse(), all, "newest first");

  assert.deepEqual((await list("q=grace@")).users.map((u: { email: string }) => u.email), [
    "grace@example.com",
  ]);
  assert.deepEqual((await list("q=%2B1 415 555 0103")).users.map((u: { id: string }) => u.id), [
    ids[3],
  ]);
  assert.deepEqual((await list(`q=${ids[2]}`)).users.map((u: { id: string }) => u.id), [ids[2]]);
  assert.equal((await list("q=%2B1415555010")).users.length, 4);

  for (const bad of ["status=away", "limit=0", "limit=1000", "extra=1"]) {
    const res = await h.get(`/api/v1/admin/users?${bad}`, { token: admin.access_token });
    assert.equal(res.status, 400, bad);
    await res.body?.cancel();
  }
});

Deno.test("admin - the event stream delivers a transition and resumes with Last-Event-ID", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const res = await h.get("/api/v1/admin/events", { token: admin.access_token });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
  const stream = sseEvents(res);
  const user = await h.signIn("+14155550100");
  let online;
  let lastId = "";
  for await (const event of stream) {
    lastId = event.id;
    if (event.event === "presence") {
      online = event;
      break;
    }
  }
  await stream.return(undefined);
  assert.equal(online!.data.type, "presence.online");
  assert.equal(online!.data.user_id, user.user.id);
  assert.equal(online!.data.at, "2026-11-21T10:00:00.000Z");

  // Missed while disconnected: a logout. Reconnecting with Last-Event-ID replays it.
  await (await h.post("/api/v1/auth/logout", {}, { token: user.access_token })).body?.cancel();
  const again = await h.app.request("/api/v1/admin/events", {
    headers: { authorization: `Bearer ${admin.access_token}`, "last-event-id": lastId },
  });
  const replay = sseEvents(again);
  const types: string[] = [];
  for await (const event of replay) {
    types.push(event.data.type);
    if (event.data.type === "presence.offline") break;
  }
  await replay.return(undefined);
  assert.deepEqual(types, ["user.signed_out", "presence.offline"]);
});

Deno.test("admin - otp events reach the stream without codes", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const res = await h.get("/api/v1/admin/events", { token: admin.access_token });
  const stream = sseEvents(res);
  h.clock.advance(61_000);
  const { requestId, code } = await h.requestCode("+14155550100");
  const seen: Record<string, unknown>[] = [];
  for await (const event of stream) {
    seen.push(event.data);
    if (event.data.type === "otp.sent") break;
  }
  await stream.return(undefined);
  const sent = seen.at(-1)!;
  assert.equal(sent.request_id, requestId);
  assert.equal(sent.recipient, "+1415•••0100");
  assert.equal(sent.channel, "sms");
  assert.ok(!JSON.stringify(seen).includes(code));
});

Deno.test("admin - the user list is newest first with a total; q finds phones without +, and Telegram ids", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  h.clock.advance(1_000);
  const first = await h.signIn("+14155550101");
  h.clock.advance(1_000);
  const second = await h.signIn("+14155550102");
  h.clock.advance(1_000);
  const now = h.clock.now();
  const telegram: User = {
    id: newId("usr", now),
    phone: null,
    email: null,
    telegramId: "5000000001",
    status: "active",
    role: "user",
    createdAt: now,
    updatedAt: now,
  };
  assert.ok(await saveUser(h.ctx.kv, telegram, emptyUserEntry(telegram.id)));
  const list = async (query: string) => {
    const res = await h.get(`/api/v1/admin/users?${query}`, { token: admin.access_token });
    assert.equal(res.status, 200, query);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    return await res.json() as { users: { id: string }[]; cursor: string | null; total: number };
  };
  const ids = (body: { users: { id: string }[] }) => body.users.map((u) => u.id);

  const all = await list("status=all");
  assert.deepEqual(ids(all), [telegram.id, second.user.id, first.user.id, admin.user.id]);
  assert.equal(all.total, 4);
  const page = await list("limit=1");
  assert.equal(page.total, 4, "the total of all users, whatever the page");
  assert.deepEqual(ids(await list("status=online")), [
    second.user.id,
    first.user.id,
    admin.user.id,
  ]);

  assert.deepEqual(ids(await list("q=14155550101")), [first.user.id], "a phone without its +");
  assert.deepEqual(ids(await list("q=1415555010")), [second.user.id, first.user.id]);
  assert.deepEqual(ids(await list("q=1 (415) 555-0102")), [second.user.id]);
  assert.deepEqual(ids(await list("q=5000000001")), [telegram.id], "a Telegram id");
  assert.deepEqual(ids(await list("q=500000000")), [], "Telegram ids match whole");
  assert.equal((await list("q=5000000001")).total, 4);
});
