import assert from "node:assert/strict";
import fc from "fast-check";
import { codeMessage } from "../../core/delivery/messages.ts";
import { errorOf, recordEvents, startHarness, waitFor } from "../helpers.ts";

const JSON_HEADERS = { "content-type": "application/json" };

Deno.test("errors - unknown routes answer 404 NOT_FOUND as JSON", async () => {
  await using h = await startHarness();
  const res = await h.get("/api/v1/nope");
  assert.equal(res.status, 404);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  assert.equal((await errorOf(res)).code, "NOT_FOUND");
});

Deno.test("errors - a body over 16 KiB is 413 PAYLOAD_TOO_LARGE", async () => {
  await using h = await startHarness();
  const res = await h.post("/api/v1/auth/otp/request", { email: `${"a".repeat(17_000)}@x.io` });
  assert.equal(res.status, 413);
  assert.equal((await errorOf(res)).code, "PAYLOAD_TOO_LARGE");
  assert.equal(h.email.messages.length, 0);
});

Deno.test("errors - a chunked body over 16 KiB is 413 too", async () => {
  await using h = await startHarness();
  const chunk = new TextEncoder().encode(" ".repeat(4096));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 8) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const res = await h.app.request("/api/v1/auth/otp/request", {
    method: "POST",
    headers: { ...JSON_HEADERS, "transfer-encoding": "chunked" },
    body,
  });
  assert.equal(res.status, 413);
  assert.equal((await errorOf(res)).code, "PAYLOAD_TOO_LARGE");
});

Deno.test("errors - a body over 16 KiB is refused over a real socket, chunked or not", async () => {
  await using h = await startHarness();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => h.app.fetch(req, { remoteAddr: info.remoteAddr }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/api/v1/auth/otp/request`;
  const big = JSON.stringify({ phone: "+14155550100", pad: "x".repeat(20_000) });
  const plain = await fetch(url, { method: "POST", headers: JSON_HEADERS, body: big });
  assert.equal(plain.status, 413);
  await plain.body?.cancel();
  const stream = ReadableStream.from([new TextEncoder().encode(big)]);
  const chunked = await fetch(url, { method: "POST", headers: JSON_HEADERS, body: stream });
  assert.equal(chunked.status, 413);
  assert.equal((await errorOf(chunked)).code, "PAYLOAD_TOO_LARGE");
});

Deno.test("errors - a non-JSON body is 415 UNSUPPORTED_MEDIA_TYPE", async () => {
  await using h = await startHarness();
  const variants: Record<string, string>[] = [
    { "content-type": "text/plain" },
    {},
    { "content-type": "application/xml" },
  ];
  for (const headers of variants) {
    const res = await h.app.request("/api/v1/auth/otp/request", {
      method: "POST",
      headers,
      body: "phone=+14155550100",
    });
    assert.equal(res.status, 415);
    assert.equal((await errorOf(res)).code, "UNSUPPORTED_MEDIA_TYPE");
  }
  const noBody = await h.app.request("/api/v1/auth/otp/verify", { method: "POST" });
  assert.equal(noBody.status, 415);
  await noBody.body?.cancel();
});

Deno.test("errors - malformed JSON is 400 VALIDATION_FAILED", async () => {
  await using h = await startHarness();
  for (const body of ["{", "", "{'phone': 1}", "[1,2", "nul", "\u0000"]) {
    const res = await h.app.request("/api/v1/auth/otp/request", {
      method: "POST",
      headers: JSON_HEADERS,
      body,
    });
    assert.equal(res.status, 400, JSON.stringify(body));
    const error = await errorOf(res);
    assert.equal(error.code, "VALIDATION_FAILED");
  }
});

Deno.test("errors - a body without a length is read only up to the limit: 413 past it, else as usual", async () => {
  await using h = await startHarness();
  const chunked = (parts: string[]) =>
    h.app.request("/api/v1/auth/otp/request", {
      method: "POST",
      headers: JSON_HEADERS,
      body: ReadableStream.from(parts.map((part) => new TextEncoder().encode(part))),
    });
  // 17 chunks of 1 KiB: refused once past 16 KiB, whatever follows.
  const big = await chunked(Array.from({ length: 17 }, () => "x".repeat(1024)));
  assert.equal(big.status, 413);
  assert.equal((await errorOf(big)).code, "PAYLOAD_TOO_LARGE");
  const bad = await chunked(['{"phone":', '"+1415"}']);
  assert.equal(bad.status, 400);
  const details = (await errorOf(bad)).details as { path: string }[];
  assert.deepEqual(details.map((d) => d.path), ["phone"]);
  const ok = await chunked(['{"phone":', '"+14155550100"}']);
  assert.equal(ok.status, 202);
  await ok.body?.cancel();
  // A declared length past the limit is refused before anything is read.
  const declared = await h.app.request("/api/v1/auth/otp/request", {
    method: "POST",
    headers: { ...JSON_HEADERS, "content-length": String(16 * 1024 + 1) },
    body: "{}",
  });
  assert.equal(declared.status, 413);
});

Deno.test("errors - schema mismatches list their details", async () => {
  await using h = await startHarness();
  const cases: [unknown, string][] = [
    [{ phone: 14155550100 }, "phone"],
    [{ phone: "415-555-0100" }, "phone"],
    [{ phone: "+1415" }, "phone"],
    [{ email: "not-an-email" }, "email"],
    [{ phone: "+14155550100", email: "a@b.co" }, "email"],
    [{ phone: "+14155550100", channel: "pigeon" }, "channel"],
    [{ phone: "+14155550100", channel: "email" }, "channel"],
    [{ email: "a@b.co", channel: "sms" }, "channel"],
    [{}, "phone"],
    [{ channel: "sms" }, "phone"],
    [{ phone: "+14155550100", extra: true }, "(body)"],
    [[{ phone: "+14155550100" }], "(body)"],
    [null, "(body)"],
  ];
  for (const [body, path] of cases) {
    const res = await h.post("/api/v1/auth/otp/request", body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const error = await errorOf(res);
    assert.equal(error.code, "VALIDATION_FAILED");
    const details = error.details as { path: string; message: string }[];
    assert.ok(details.length > 0);
    assert.ok(
      details.some((d) => d.path === path || (path === "(body)" && d.path !== "")),
      `${JSON.stringify(body)} → ${JSON.stringify(details)}`,
    );
  }
  const verify = await h.post("/api/v1/auth/otp/verify", { request_id: "otp_x", code: 123456 });
  assert.equal(verify.status, 400);
  assert.equal((await errorOf(verify)).code, "VALIDATION_FAILED");
  const letters = await h.post("/api/v1/auth/otp/verify", { request_id: "otp_x", code: "12ab56" });
  assert.equal((await errorOf(letters)).code, "VALIDATION_FAILED");
  assert.equal(h.sms.messages.length, 0);
});

Deno.test("errors - an unknown request id is 400 INVALID_CODE", async () => {
  await using h = await startHarness();
  const res = await h.post("/api/v1/auth/otp/verify", {
    request_id: "otp_01JD000000000000000000000",
    code: "123 456",
  });
  assert.equal(res.status, 400);
  assert.equal((await errorOf(res)).code, "INVALID_CODE");
});

Deno.test("errors - missing, malformed and forged tokens are 401 UNAUTHORIZED", async () => {
  await using h = await startHarness();
  const session = await h.signIn("+14155550100");
  const [header, payload] = session.access_token.split(".");
  const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
  const forgedPayload = btoa(JSON.stringify({ ...claims, role: "admin" }))
    .replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  const none = btoa(JSON.stringify({ alg: "none", typ: "at+jwt" })).replaceAll("=", "");
  for (
    const authorization of [
      undefined,
      "Basic abc",
      "Bearer",
      "Bearer not-a-jwt",
      `Bearer ${header}.${forgedPayload}.${session.access_token.split(".")[2]}`,
      `Bearer ${none}.${payload}.`,
      `Bearer ${session.access_token}x`,
    ]
  ) {
    const res = await h.app.request("/api/v1/me", {
      headers: authorization ? { authorization } : {},
    });
    assert.equal(res.status, 401, authorization);
    assert.equal((await errorOf(res)).code, "UNAUTHORIZED");
  }
  const refresh = await h.post("/api/v1/auth/refresh", { refresh_token: "made-up" });
  assert.equal(refresh.status, 401);
  assert.equal((await errorOf(refresh)).code, "UNAUTHORIZED");
});

Deno.test("errors - a failing SMS webhook is 503 CHANNEL_UNAVAILABLE and frees the recipient", async () => {
  await using h = await startHarness();
  h.sms.mode = { kind: "status", status: 500 };
  const events = recordEvents(h);
  const res = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
  assert.equal(res.status, 503);
  const error = await errorOf(res);
  assert.equal(error.code, "CHANNEL_UNAVAILABLE");
  const health = await (await h.get("/api/v1/health")).json();
  assert.equal(health.channels.sms.ok, false);
  assert.equal(health.channels.sms.last_error, "sms webhook answered 500");
  assert.equal(health.status, "degraded");

  h.sms.mode = { kind: "ok" };
  const retry = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
  assert.equal(retry.status, 202, "no resend cooldown after a failed delivery");
  await retry.body?.cancel();
  assert.equal((await (await h.get("/api/v1/health")).json()).channels.sms.ok, true);
  await waitFor(() => events.some((e) => e.type === "channel.up"));
  const down = events.find((e) => e.type === "channel.down")!;
  assert.deepEqual([down.channel, down.error], ["sms", "sms webhook answered 500"]);
  assert.equal(events.filter((e) => e.type.startsWith("channel.")).length, 2, "only changes");
});

Deno.test("errors - failed deliveries do not use up the hourly limits", async () => {
  // The provider is down (nothing listens): nothing can have been sent, so nothing counts.
  const down = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(down.addr as Deno.NetAddr).port}/send`;
  down.close();
  await using h = await startHarness({
    env: { OTP_IP_RATE_LIMIT_PER_HOUR: "5", SMS_WEBHOOK_URL: url },
  });
  for (let i = 0; i < 8; i++) {
    const res = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
    assert.equal(res.status, 503);
    await res.body?.cancel();
  }
  await using up = await startHarness({
    kv: h.ctx.kv,
    clock: h.clock,
    env: { OTP_IP_RATE_LIMIT_PER_HOUR: "5" },
  });
  for (let i = 0; i < 5; i++) {
    await up.requestCode("+14155550100");
    h.clock.advance(60_000);
  }
  const res = await up.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
  assert.equal(res.status, 429, "the limit still holds for codes that went out");
  await res.body?.cancel();
});

Deno.test("errors - a gateway that answers an error may have sent: the limits keep counting", async () => {
  // The gateway takes the message, then answers 500: at a 5/hour limit, 20 quick requests
  // must not get 20 messages out.
  await using h = await startHarness({ env: { OTP_RESEND_COOLDOWN_SECONDS: "0" } });
  h.sms.mode = { kind: "status", status: 500 };
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses.slice(0, 5), [503, 503, 503, 503, 503]);
  assert.ok(statuses.slice(5).every((s) => s === 429), statuses.join(" "));
  assert.equal(h.sms.attempts, 5, "the gateway was asked five times, not twenty");
});

Deno.test("webhook provider - a stalled receiver times out", async () => {
  await using h = await startHarness();
  h.sms.mode = { kind: "stall" };
  const { httpProviderChannel } = await import("../../core/delivery/http_provider.ts");
  const quick = httpProviderChannel("sms", {
    url: h.sms.url,
    secret: "sms-hook-secret",
    timeoutMs: 100,
  });
  const started = performance.now();
  await assert.rejects(
    () => quick.send("+14155550100", codeMessage("123456", 60)),
    /timed out/,
  );
  assert.ok(performance.now() - started < 2_000);
});

Deno.test("errors - no configured channel is 503 CHANNEL_UNAVAILABLE", async () => {
  await using h = await startHarness({ env: { SMS_PROVIDER: "none" } });
  for (const body of [{ phone: "+14155550100" }, { channel: "telegram" }]) {
    const res = await h.post("/api/v1/auth/otp/request", body);
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal((await errorOf(res)).code, "CHANNEL_UNAVAILABLE");
  }
});

Deno.test("errors - a bug answers 500 INTERNAL without its details", async () => {
  await using h = await startHarness();
  h.ctx.kv.close();
  const res = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
  assert.equal(res.status, 500);
  const error = await errorOf(res);
  assert.equal(error.code, "INTERNAL");
  assert.doesNotMatch(String(error.message), /kv|stack|at /i);
  assert.ok(h.log.lines.some((line) => line.includes("unhandled error")));
  const health = await h.get("/api/v1/health");
  assert.equal(health.status, 503);
  assert.equal((await health.json()).status, "down");
});

Deno.test("errors - a few hundred generated malformed bodies never give a 5xx", async () => {
  await using h = await startHarness({ env: { OTP_IP_RATE_LIMIT_PER_HOUR: "1000000" } });
  const paths = [
    "/api/v1/auth/otp/request",
    "/api/v1/auth/otp/verify",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
  ];
  const value = fc.oneof(
    fc.jsonValue(),
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.constantFrom("+14155550100", "ada@example.com", "otp_x", "sms", "telegram", "auto", ""),
  );
  const field = fc.constantFrom(
    "phone",
    "email",
    "channel",
    "request_id",
    "code",
    "refresh_token",
    "__proto__",
    "constructor",
  );
  const body = fc.oneof(
    fc.dictionary(field, value, { maxKeys: 4 }).map((o) => JSON.stringify(o)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.string({ unit: "binary", maxLength: 300 }),
  );
  let count = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...paths), body, async (path, text) => {
      count++;
      const res = await h.app.request(path, { method: "POST", headers: JSON_HEADERS, body: text });
      const answer = await res.text();
      if (res.status >= 500 && res.status !== 503) return false;
      if (res.status >= 400) {
        const parsed = JSON.parse(answer);
        return typeof parsed.error?.code === "string";
      }
      return true;
    }),
    { numRuns: 400 },
  );
  assert.ok(count >= 400);
});

Deno.test("logout - the body is optional over a real socket too", async () => {
  await using h = await startHarness();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => h.app.fetch(req, { remoteAddr: info.remoteAddr }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/api/v1/auth/logout`;
  for (const headers of [{}, { "content-type": "application/json" }] as Record<string, string>[]) {
    h.clock.advance(61_000);
    const session = await h.signIn("+14155550100");
    const res = await fetch(url, {
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${session.access_token}` },
    });
    assert.equal(res.status, 204, JSON.stringify(headers));
    await res.body?.cancel();
    assert.equal((await h.get("/api/v1/me", { token: session.access_token })).status, 401);
  }
  const session = await h.signIn("+14155550199");
  const text = await fetch(url, {
    method: "POST",
    headers: { "content-type": "text/plain", authorization: `Bearer ${session.access_token}` },
    body: "bye",
  });
  assert.equal(text.status, 415);
  await text.body?.cancel();
});
