import assert from "node:assert/strict";
import { errorOf, spreadPhone, startHarness } from "../helpers.ts";

const PHONE = "+14155550100";

Deno.test("sign-in - request, verify, me, refresh and logout work end to end", async () => {
  await using h = await startHarness();
  const requested = await h.post("/api/v1/auth/otp/request", { phone: PHONE, channel: "auto" });
  assert.equal(requested.status, 202);
  assert.match(requested.headers.get("content-type") ?? "", /application\/json/);
  const request = await requested.json();
  assert.match(request.request_id, /^otp_/);
  assert.deepEqual(
    {
      channel: request.channel,
      expires_in: request.expires_in,
      resend_after: request.resend_after,
    },
    { channel: "sms", expires_in: 300, resend_after: 60 },
  );
  assert.equal(request.deep_link, undefined);

  const message = h.sms.messages.at(-1)!;
  assert.equal(message.to, PHONE);
  assert.match(message.text, /^Doorman: your sign-in code is \d{6}\. It expires in 5 minutes\./);
  assert.match(message.signature ?? "", /^sha256=[0-9a-f]{64}$/);

  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id: request.request_id,
    code: h.sms.lastCode(PHONE),
  });
  assert.equal(verified.status, 200);
  const session = await verified.json();
  assert.equal(session.token_type, "Bearer");
  assert.equal(session.expires_in, 900);
  assert.match(session.user.id, /^usr_/);
  assert.deepEqual(
    { ...session.user, id: "", created_at: "" },
    {
      id: "",
      phone: PHONE,
      email: null,
      telegram_id: null,
      status: "active",
      role: "user",
      created_at: "",
      presence_visibility: "everyone",
    },
  );
  assert.equal(session.user.created_at, "2026-11-21T10:00:00.000Z");

  const me = await h.get("/api/v1/me", { token: session.access_token });
  assert.equal(me.status, 200);
  assert.deepEqual((await me.json()).user, session.user);

  const refreshed = await h.post("/api/v1/auth/refresh", { refresh_token: session.refresh_token });
  assert.equal(refreshed.status, 200);
  const next = await refreshed.json();
  assert.notEqual(next.refresh_token, session.refresh_token);
  assert.equal(next.user.id, session.user.id);

  const out = await h.post("/api/v1/auth/logout", {}, { token: next.access_token });
  assert.equal(out.status, 204);
  assert.equal((await h.get("/api/v1/me", { token: next.access_token })).status, 401);
  // The first access token belongs to the same sign-in, so it ended too.
  assert.equal((await h.get("/api/v1/me", { token: session.access_token })).status, 401);
  const again = await h.post("/api/v1/auth/refresh", { refresh_token: next.refresh_token });
  assert.equal(again.status, 401);
  assert.equal((await errorOf(again)).code, "UNAUTHORIZED");
});

Deno.test("sign-in - a second sign-in of the same phone finds the same user", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  h.clock.advance(61_000);
  const second = await h.signIn("+1 415-555-0100");
  assert.equal(second.user.id, first.user.id);
});

Deno.test("sign-in - email recipients get the code by email, lower-cased", async () => {
  await using h = await startHarness();
  const res = await h.post("/api/v1/auth/otp/request", { email: "  Ada@Example.COM " });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.channel, "email");
  const mail = h.email.messages.at(-1)!;
  assert.equal(mail.to, "ada@example.com");
  assert.match(mail.subject ?? "", /Doorman sign-in code/);
  assert.match(mail.html ?? "", /expires in 5 minutes/);
  const code = h.email.lastCode("ada@example.com")!;
  const verified = await h.post("/api/v1/auth/otp/verify", { request_id: body.request_id, code });
  assert.equal(verified.status, 200);
  assert.equal((await verified.json()).user.email, "ada@example.com");
});

Deno.test("otp.verify() - a code expires after otp_ttl_seconds", async () => {
  await using h = await startHarness();
  const { requestId, code } = await h.requestCode(PHONE);
  h.clock.advance(300_000);
  const res = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
  assert.equal(res.status, 400);
  assert.equal((await errorOf(res)).code, "INVALID_CODE");
});

Deno.test("otp.verify() - a code just inside its lifetime still works", async () => {
  await using h = await startHarness();
  const { requestId, code } = await h.requestCode(PHONE);
  h.clock.advance(299_999);
  const res = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
  assert.equal(res.status, 200);
});

Deno.test("otp.verify() - a code signs in once", async () => {
  await using h = await startHarness();
  const { requestId, code } = await h.requestCode(PHONE);
  assert.equal(
    (await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code })).status,
    200,
  );
  const again = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
  assert.equal(again.status, 400);
  assert.equal((await errorOf(again)).code, "INVALID_CODE");
});

Deno.test("otp.verify() - the 5th wrong attempt burns the code, right code included", async () => {
  await using h = await startHarness();
  const { requestId, code } = await h.requestCode(PHONE);
  const wrong = code === "000000" ? "111111" : "000000";
  for (let left = 4; left >= 0; left--) {
    const res = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code: wrong });
    assert.equal(res.status, 400);
    const error = await errorOf(res);
    assert.equal(error.code, "INVALID_CODE");
    assert.equal(error.attempts_left, left);
  }
  const right = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
  assert.equal(right.status, 429);
  assert.equal((await errorOf(right)).code, "TOO_MANY_ATTEMPTS");
});

Deno.test("otp.verify() - the right code on the last attempt still works", async () => {
  await using h = await startHarness();
  const { requestId, code } = await h.requestCode(PHONE);
  const wrong = code === "000000" ? "111111" : "000000";
  for (let i = 0; i < 4; i++) {
    await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code: wrong });
  }
  assert.equal(
    (await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code })).status,
    200,
  );
});

Deno.test("otp.verify() - 50 parallel wrong guesses get at most 5 evaluations", async () => {
  await using h = await startHarness();
  const { requestId, code } = await h.requestCode(PHONE);
  const guesses = Array.from({ length: 50 }, (_, i) => String(i).padStart(6, "9"))
    .filter((guess) => guess !== code);
  const answers = await Promise.all(
    guesses.map((guess) =>
      h.post("/api/v1/auth/otp/verify", { request_id: requestId, code: guess })
    ),
  );
  const codes = await Promise.all(answers.map(async (res) => (await errorOf(res)).code));
  assert.equal(codes.filter((c) => c === "INVALID_CODE").length, 5);
  assert.equal(codes.filter((c) => c === "TOO_MANY_ATTEMPTS").length, guesses.length - 5);
  const right = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
  assert.equal(right.status, 429);
});

Deno.test("otp.verify() - 2 parallel right answers give exactly one session", async () => {
  await using h = await startHarness();
  for (let round = 0; round < 5; round++) {
    const { requestId, code } = await h.requestCode(PHONE);
    const answers = await Promise.all([
      h.post("/api/v1/auth/otp/verify", { request_id: requestId, code }),
      h.post("/api/v1/auth/otp/verify", { request_id: requestId, code }),
    ]);
    const statuses = answers.map((res) => res.status).sort();
    assert.deepEqual(statuses, [200, 400], `round ${round}`);
    await Promise.all(answers.map((res) => res.body?.cancel()));
    h.clock.advance(61_000);
  }
});

Deno.test("otp.request() - a new code for the same recipient kills the old one", async () => {
  await using h = await startHarness();
  const first = await h.requestCode(PHONE);
  h.clock.advance(60_000);
  const second = await h.requestCode(PHONE);
  const old = await h.post("/api/v1/auth/otp/verify", {
    request_id: first.requestId,
    code: first.code,
  });
  assert.equal(old.status, 400);
  assert.equal((await errorOf(old)).code, "INVALID_CODE");
  const res = await h.post("/api/v1/auth/otp/verify", {
    request_id: second.requestId,
    code: second.code,
  });
  assert.equal(res.status, 200);
});

Deno.test("otp.request() - '+1 (415) 555-0100' and '+14155550100' are one recipient", async () => {
  await using h = await startHarness();
  assert.equal(
    (await h.post("/api/v1/auth/otp/request", { phone: "+1 (415) 555-0100" })).status,
    202,
  );
  const res = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
  assert.equal(res.status, 429, "the resend cooldown is shared");
  assert.equal(h.sms.messages.length, 1);
  assert.equal(h.sms.messages[0].to, "+14155550100");
});

Deno.test("otp.request() - the resend cooldown answers 429 with Retry-After", async () => {
  await using h = await startHarness();
  await h.requestCode(PHONE);
  h.clock.advance(18_000);
  const res = await h.post("/api/v1/auth/otp/request", { phone: PHONE });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "42");
  const error = await errorOf(res);
  assert.equal(error.code, "RATE_LIMITED");
  assert.equal(error.retry_after, 42);
  assert.match(String(error.message), /42 s/);
  assert.equal(h.sms.messages.length, 1, "nothing is sent over a limit");
  h.clock.advance(42_000);
  assert.equal((await h.post("/api/v1/auth/otp/request", { phone: PHONE })).status, 202);
});

Deno.test("otp.request() - a recipient gets at most 5 codes per rolling hour", async () => {
  await using h = await startHarness();
  for (let i = 0; i < 5; i++) {
    await h.requestCode(PHONE, `198.51.100.${i}`);
    h.clock.advance(60_000);
  }
  const res = await h.post("/api/v1/auth/otp/request", { phone: PHONE }, { ip: "198.51.100.9" });
  assert.equal(res.status, 429);
  const error = await errorOf(res);
  assert.equal(error.code, "RATE_LIMITED");
  // The first code went out 5 minutes ago; it leaves the window after the hour (+1 bucket).
  const retry = Number(res.headers.get("retry-after"));
  assert.ok(retry > 55 * 60 && retry <= 56 * 60, `retry-after ${retry}`);
  assert.equal(h.sms.messages.length, 5);
  h.clock.advance(retry * 1000);
  assert.equal(
    (await h.post("/api/v1/auth/otp/request", { phone: PHONE }, { ip: "198.51.100.9" })).status,
    202,
  );
});

Deno.test("otp.request() - one client IP gets at most 30 codes per hour", async () => {
  await using h = await startHarness();
  for (let i = 0; i < 30; i++) {
    const res = await h.post("/api/v1/auth/otp/request", { phone: spreadPhone(i) });
    assert.equal(res.status, 202, `request ${i}`);
  }
  const res = await h.post("/api/v1/auth/otp/request", { phone: "+14155559999" });
  assert.equal(res.status, 429);
  assert.equal((await errorOf(res)).code, "RATE_LIMITED");
  assert.ok(Number(res.headers.get("retry-after")) > 3500);
  const other = await h.post("/api/v1/auth/otp/request", { phone: "+14155559999" }, {
    ip: "192.0.2.1",
  });
  assert.equal(other.status, 202, "another IP is not affected");
  assert.equal(h.sms.messages.length, 31);
});

Deno.test("otp.request() - X-Forwarded-For counts only with TRUST_PROXY=true", async () => {
  const request = (h: Awaited<ReturnType<typeof startHarness>>, phone: string, forwarded: string) =>
    h.app.request("/api/v1/auth/otp/request", {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": forwarded },
      body: JSON.stringify({ phone }),
    }, { remoteAddr: { transport: "tcp", hostname: "10.0.0.1", port: 1 } });
  {
    await using h = await startHarness({ env: { OTP_IP_RATE_LIMIT_PER_HOUR: "1" } });
    assert.equal((await request(h, "+14155550101", "192.0.2.1")).status, 202);
    const res = await request(h, "+14155550102", "192.0.2.2");
    assert.equal(res.status, 429, "without TRUST_PROXY both come from the socket's 10.0.0.1");
    await res.body?.cancel();
  }
  {
    await using h = await startHarness({
      env: { OTP_IP_RATE_LIMIT_PER_HOUR: "1", TRUST_PROXY: "true" },
    });
    assert.equal((await request(h, "+14155550101", "192.0.2.1")).status, 202);
    assert.equal((await request(h, "+14155550102", "203.0.113.5, 192.0.2.2")).status, 202);
    const res = await request(h, "+14155550103", "192.0.2.2");
    assert.equal(res.status, 429, "the proxy-appended address is the client");
    await res.body?.cancel();
  }
});

Deno.test("otp.request() - known, new and disabled recipients get the same answer", async () => {
  await using h = await startHarness();
  const known = await h.signIn("+14155550101");
  await h.ctx.kv.set(["users", known.user.id], {
    ...(await h.ctx.kv.get<Record<string, unknown>>(["users", known.user.id])).value,
    status: "banned",
  });
  await h.signIn("+14155550102");
  h.clock.advance(61_000);
  const shapes = [];
  for (const phone of ["+14155550101", "+14155550102", "+14155550103"]) {
    const res = await h.post("/api/v1/auth/otp/request", { phone }, {
      ip: `192.0.2.${phone.at(-1)}`,
    });
    assert.equal(res.status, 202);
    const body = await res.json();
    shapes.push(Object.keys(body).sort().join(",") + `|${body.channel}|${body.expires_in}`);
  }
  assert.equal(new Set(shapes).size, 1, shapes.join(" / "));
});

Deno.test("otp.verify() - a disabled account with the right code gets 403 ACCOUNT_DISABLED", async () => {
  await using h = await startHarness();
  const session = await h.signIn(PHONE);
  const stored = await h.ctx.kv.get<Record<string, unknown>>(["users", session.user.id]);
  await h.ctx.kv.set(stored.key, { ...stored.value, status: "suspended" });
  h.clock.advance(61_000);
  const { requestId, code } = await h.requestCode(PHONE);
  const res = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
  assert.equal(res.status, 403);
  const error = await errorOf(res);
  assert.equal(error.code, "ACCOUNT_DISABLED");
  assert.equal(error.status, "suspended");
  // The disabled account's old token stops working too.
  assert.equal((await h.get("/api/v1/me", { token: session.access_token })).status, 403);
});

Deno.test("sessions - reusing a rotated refresh token revokes the whole family", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const second =
    await (await h.post("/api/v1/auth/refresh", { refresh_token: first.refresh_token }))
      .json();
  // Past the 10 s in which a reuse is taken for a client racing itself.
  h.clock.advance(10_000);
  const stolen = await h.post("/api/v1/auth/refresh", { refresh_token: first.refresh_token });
  assert.equal(stolen.status, 401);
  assert.equal((await errorOf(stolen)).code, "UNAUTHORIZED");
  const legit = await h.post("/api/v1/auth/refresh", { refresh_token: second.refresh_token });
  assert.equal(legit.status, 401, "the newest token of the family is revoked too");
  await legit.body?.cancel();
  assert.equal((await h.get("/api/v1/me", { token: second.access_token })).status, 401);
});

Deno.test("sessions - a rotated token reused within 10 s is 401 and revokes nothing", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const second =
    await (await h.post("/api/v1/auth/refresh", { refresh_token: first.refresh_token }))
      .json();
  h.clock.advance(9_000);
  const again = await h.post("/api/v1/auth/refresh", { refresh_token: first.refresh_token });
  assert.equal(again.status, 401);
  assert.equal((await errorOf(again)).code, "UNAUTHORIZED");
  assert.equal((await h.get("/api/v1/me", { token: second.access_token })).status, 200);
  const next = await h.post("/api/v1/auth/refresh", { refresh_token: second.refresh_token });
  assert.equal(next.status, 200, "the sign-in goes on");
  await next.body?.cancel();
});

Deno.test("sessions - two parallel refreshes with one token give exactly one success", async () => {
  await using h = await startHarness();
  for (let round = 0; round < 5; round++) {
    const session = await h.signIn(PHONE);
    const answers = await Promise.all([
      h.post("/api/v1/auth/refresh", { refresh_token: session.refresh_token }),
      h.post("/api/v1/auth/refresh", { refresh_token: session.refresh_token }),
    ]);
    assert.deepEqual(answers.map((res) => res.status).sort(), [200, 401], `round ${round}`);
    const winner = await answers.find((res) => res.status === 200)!.json();
    await answers.find((res) => res.status === 401)!.body?.cancel();
    const next = await h.post("/api/v1/auth/refresh", { refresh_token: winner.refresh_token });
    assert.equal(next.status, 200, "the winner's new token keeps working");
    await next.body?.cancel();
    h.clock.advance(61_000);
  }
});

Deno.test("sessions - logout with a refresh token of another sign-in ends both", async () => {
  await using h = await startHarness();
  const phone = await h.signIn(PHONE);
  h.clock.advance(61_000);
  const laptop = await h.signIn(PHONE);
  const out = await h.post("/api/v1/auth/logout", { refresh_token: laptop.refresh_token }, {
    token: phone.access_token,
  });
  assert.equal(out.status, 204);
  assert.equal((await h.get("/api/v1/me", { token: laptop.access_token })).status, 401);
  assert.equal((await h.get("/api/v1/me", { token: phone.access_token })).status, 401);
});

Deno.test("sessions - logout of one sign-in leaves the others working", async () => {
  await using h = await startHarness();
  const phone = await h.signIn(PHONE);
  h.clock.advance(61_000);
  const laptop = await h.signIn(PHONE);
  const out = await h.app.request("/api/v1/auth/logout", {
    method: "POST",
    headers: { authorization: `Bearer ${phone.access_token}` },
  });
  assert.equal(out.status, 204, "the body is optional");
  assert.equal((await h.get("/api/v1/me", { token: phone.access_token })).status, 401);
  assert.equal((await h.get("/api/v1/me", { token: laptop.access_token })).status, 200);
});

Deno.test("sessions - an access token expires after ACCESS_TOKEN_TTL_SECONDS", async () => {
  await using h = await startHarness();
  const session = await h.signIn(PHONE);
  h.clock.advance(899_000);
  assert.equal((await h.get("/api/v1/me", { token: session.access_token })).status, 200);
  h.clock.advance(2_000);
  const res = await h.get("/api/v1/me", { token: session.access_token });
  assert.equal(res.status, 401);
  assert.match(String((await errorOf(res)).message), /expired/);
});

Deno.test("sign-in - ADMIN_PHONES and ADMIN_EMAILS sign in as admins", async () => {
  await using h = await startHarness({
    env: { ADMIN_PHONES: "+1 415 555 0100", ADMIN_EMAILS: "Root@Example.com" },
  });
  assert.equal((await h.signIn(PHONE)).user.role, "admin");
  assert.equal((await h.signIn("+14155550199")).user.role, "user");
  const res = await h.post("/api/v1/auth/otp/request", { email: "root@example.com" });
  const code = h.email.lastCode("root@example.com");
  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id: (await res.json()).request_id,
    code,
  });
  assert.equal((await verified.json()).user.role, "admin");
});

Deno.test("otp.request() - 200 parallel requests from one IP: exactly the IP limit get through", async () => {
  await using h = await startHarness({ env: { OTP_IP_RATE_LIMIT_PER_HOUR: "30" } });
  const answers = await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) => h.post("/api/v1/auth/otp/request", { phone: spreadPhone(i) }),
    ),
  );
  const statuses = answers.map((res) => res.status);
  await Promise.all(answers.map((res) => res.body?.cancel()));
  assert.equal(statuses.filter((s) => s === 202).length, 30);
  assert.equal(statuses.filter((s) => s === 429).length, 170);
  assert.equal(h.sms.messages.length, 30, "nothing is sent over the limit");
});

Deno.test("otp.request() - 200 parallel requests for one phone: exactly the recipient limit", async () => {
  await using h = await startHarness({ env: { OTP_RESEND_COOLDOWN_SECONDS: "0" } });
  const answers = await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) =>
        h.post("/api/v1/auth/otp/request", { phone: PHONE }, { ip: `198.51.100.${i % 200}` }),
    ),
  );
  const statuses = answers.map((res) => res.status);
  await Promise.all(answers.map((res) => res.body?.cancel()));
  assert.equal(statuses.filter((s) => s === 202).length, 5);
  assert.ok(statuses.every((s) => s === 202 || s === 429), String(new Set(statuses)));
  assert.equal(h.sms.messages.length, 5);
});
