import assert from "node:assert/strict";
import { errorOf, openSocket, serveHarness, startHarness, ticketUrl, waitFor } from "../helpers.ts";

const ADMIN = "+14155550000";

Deno.test("abuse - malformed paths and cursors are 4xx, never 500", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  for (const path of ["/static/%", "/static/%E0%A4%A", "/static/%zz.css"]) {
    const res = await h.get(path);
    assert.equal(res.status, 404, path);
    assert.equal((await errorOf(res)).code, "NOT_FOUND");
  }
  const admin = await h.signIn(ADMIN);
  for (const status of ["all", "online"]) {
    const res = await h.get(`/api/v1/admin/users?status=${status}&cursor=garbage`, {
      token: admin.access_token,
    });
    assert.equal(res.status, 400, status);
    const error = await errorOf(res);
    assert.equal(error.code, "VALIDATION_FAILED");
    assert.deepEqual((error.details as { path: string }[]).map((d) => d.path), ["cursor"]);
  }
});

Deno.test("abuse - 50 parallel upgrades without a good ticket open no socket at all", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const urls = Array.from(
    { length: 50 },
    (_, i) => i % 2 ? server.wsUrl : `${server.wsUrl}?ticket=${"A".repeat(43)}`,
  );
  const outcomes = await Promise.all(urls.map((url) =>
    new Promise<string>((resolve) => {
      const socket = new WebSocket(url);
      socket.onopen = () => {
        resolve("open");
        socket.close();
      };
      socket.onerror = () => resolve("refused");
    })
  ));
  assert.deepEqual(new Set(outcomes), new Set(["refused"]));
  assert.equal(h.ctx.presence.hub.size, 0);
});

Deno.test("abuse - an 11th socket of one user closes the oldest with 4009", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const session = await h.signIn("+14155550100");
  const sockets = [];
  for (let i = 0; i < 11; i++) {
    const socket = await openSocket(await ticketUrl(h, server.wsUrl, session.access_token));
    assert.equal((await socket.next()).type, "ready");
    sockets.push(socket);
  }
  const closed = await sockets[0].closed;
  assert.equal(closed.code, 4009);
  sockets[10].send({ type: "ping" });
  assert.deepEqual(await sockets[10].next(), { type: "pong" }, "the newest works");
  for (const socket of sockets.slice(1)) await socket[Symbol.asyncDispose]();
  // Closing them all takes the user offline once (the replaced one did not), after the grace.
  await waitFor(() => h.ctx.presence.hub.size === 0);
  h.clock.advance(5_000);
  await waitFor(async () => {
    const res = await h.get(`/api/v1/presence?user_ids=${session.user.id}`, {
      token: (await h.signIn("+14155550199")).access_token,
    });
    return (await res.json()).users[0].status === "offline";
  });
});

Deno.test("abuse - an oversized WebSocket message is dropped at once and closes 1009", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  // Two users, ten sockets each: the most one user may hold.
  const sessions = [await h.signIn("+14155550100"), await h.signIn("+14155550101")];
  const before = Deno.memoryUsage().rss;
  const sockets = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const ws = await openSocket(await ticketUrl(h, server.wsUrl, sessions[i % 2].access_token));
    assert.equal((await ws.next()).type, "ready");
    return ws;
  }));
  const big = "x".repeat(4 * 1024 * 1024);
  for (const socket of sockets) socket.send(big);
  const codes = await Promise.all(sockets.map(async (s) => (await s.closed).code));
  assert.ok(codes.every((code) => code === 1009), codes.join(" "));
  // Nothing kept the messages: the server still answers, and memory came back within bounds.
  assert.equal((await h.get("/health")).status, 200);
  const grown = (Deno.memoryUsage().rss - before) / 1024 / 1024;
  assert.ok(grown < 400, `RSS grew ${grown.toFixed(0)} MiB for 80 MiB of frames`);
});

Deno.test("abuse - at most 10 event streams per admin; the 11th is 429", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const admin = await h.signIn(ADMIN);
  const streams = [];
  for (let i = 0; i < 10; i++) {
    const res = await h.get("/api/v1/admin/events", { token: admin.access_token });
    assert.equal(res.status, 200);
    streams.push(res);
  }
  const extra = await h.get("/api/v1/admin/events", { token: admin.access_token });
  assert.equal(extra.status, 429);
  assert.equal((await errorOf(extra)).code, "RATE_LIMITED");
  assert.ok(Number(extra.headers.get("retry-after")) >= 1);
  await streams[0].body?.cancel();
  await waitFor(async () => {
    const res = await h.get("/api/v1/admin/events", { token: admin.access_token });
    if (res.status === 200) streams.push(res);
    else await res.body?.cancel();
    return res.status === 200;
  });
  for (const stream of streams.slice(1)) await stream.body?.cancel();
});

Deno.test("abuse - wrong codes per client IP across requests: past the limit, 429", async () => {
  await using h = await startHarness({ env: { OTP_VERIFY_FAILURES_PER_IP_PER_HOUR: "6" } });
  const guess = async (requestId: string, ip: string) => {
    const res = await h.app.request("/api/v1/auth/otp/verify", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ request_id: requestId, code: "000000" }),
    }, { remoteAddr: { transport: "tcp", hostname: ip, port: 1 } });
    const body = await res.json();
    return {
      status: res.status,
      code: body.error?.code,
      retryAfter: res.headers.get("retry-after"),
    };
  };
  // Three requests, two wrong guesses each from one IP: six wrong codes in all.
  for (const phone of ["+14155550101", "+14155550102", "+14155550103"]) {
    const { requestId } = await h.requestCode(phone, "198.51.100.20");
    for (let i = 0; i < 2; i++) {
      assert.equal((await guess(requestId, "198.51.100.66")).code, "INVALID_CODE");
    }
  }
  const { requestId, code } = await h.requestCode("+14155550104", "198.51.100.20");
  const refused = await guess(requestId, "198.51.100.66");
  assert.equal(refused.status, 429);
  assert.equal(refused.code, "RATE_LIMITED");
  assert.ok(Number(refused.retryAfter) > 3000);
  // The refused guess spent nothing: the right code still works from another network.
  const res = await h.app.request("/api/v1/auth/otp/verify", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ request_id: requestId, code }),
  }, { remoteAddr: { transport: "tcp", hostname: "203.0.113.9", port: 1 } });
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("abuse - email limits count the mailbox: +tags, case and Gmail dots are one recipient", async () => {
  await using h = await startHarness({ env: { OTP_RESEND_COOLDOWN_SECONDS: "0" } });
  const addresses = [
    "carol@example.com",
    "carol+1@example.com",
    "Carol+2@Example.com",
    "carol+news@example.com",
    "CAROL@example.com",
  ];
  for (const email of addresses) {
    const res = await h.post("/api/v1/auth/otp/request", { email });
    assert.equal(res.status, 202, email);
    await res.body?.cancel();
  }
  const sixth = await h.post("/api/v1/auth/otp/request", { email: "carol+6@example.com" });
  assert.equal(sixth.status, 429, "the sixth code for one mailbox in an hour");
  await sixth.body?.cancel();
  // Gmail ignores dots and knows two domain names.
  for (let i = 0; i < 5; i++) {
    const email = ["j.doe@gmail.com", "jdoe@gmail.com", "J.D.o.e+x@googlemail.com"][i % 3];
    const res = await h.post("/api/v1/auth/otp/request", { email });
    assert.equal(res.status, 202, email);
    await res.body?.cancel();
  }
  const more = await h.post("/api/v1/auth/otp/request", { email: "jd.oe@gmail.com" });
  assert.equal(more.status, 429);
  await more.body?.cancel();
  // Each address still signs in as itself.
  const first = h.email.messages.find((m) => m.to === "carol+1@example.com");
  assert.ok(first, "the code went to the address given, tag and all");
});

Deno.test("abuse - /metrics asks for METRICS_TOKEN when set, and is off in production without", async () => {
  {
    await using h = await startHarness({ env: { METRICS_TOKEN: "metrics-token-0123456789" } });
    assert.equal((await h.get("/metrics")).status, 401);
    assert.equal((await h.get("/metrics", { token: "wrong-token-0123456789ab" })).status, 401);
    const ok = await h.get("/metrics", { token: "metrics-token-0123456789" });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  }
  {
    await using h = await startHarness({
      env: { APP_ENV: "production", SMS_PROVIDER: "none", EMAIL_PROVIDER: "none" },
    });
    const res = await h.get("/metrics");
    assert.equal(res.status, 404);
    await res.body?.cancel();
  }
});
