import assert from "node:assert/strict";
import { startHarness } from "../helpers.ts";

Deno.test("http - CORS answers only the configured origins", async () => {
  await using h = await startHarness({ env: { CORS_ORIGINS: "https://app.example.com" } });
  const preflight = (origin: string) =>
    h.app.request("/api/v1/auth/otp/request", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
  const allowed = await preflight("https://app.example.com");
  assert.equal(allowed.status, 204);
  assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example.com");
  assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /Content-Type/i);
  const refused = await preflight("https://evil.example");
  assert.equal(refused.headers.get("access-control-allow-origin"), null);

  const res = await h.app.request("/api/v1/me", { headers: { origin: "https://app.example.com" } });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
  await res.body?.cancel();
});

Deno.test("http - without CORS_ORIGINS no origin is allowed", async () => {
  await using h = await startHarness();
  const res = await h.app.request("/api/v1/me", { headers: { origin: "https://app.example.com" } });
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  await res.body?.cancel();
});

Deno.test("http - GET /health answers ok and /api/v1/health reports KV and channels", async () => {
  await using h = await startHarness();
  const live = await h.get("/health");
  assert.equal(live.status, 200);
  assert.deepEqual(await live.json(), { status: "ok" });
  const ready = await h.get("/api/v1/health");
  assert.equal(ready.status, 200);
  const body = await ready.json();
  assert.equal(body.status, "ok");
  assert.equal(body.kv, "ok");
  assert.match(body.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(Object.keys(body.channels).sort(), ["email", "sms", "telegram"]);
  assert.equal(body.channels.telegram.configured, false);
  assert.equal(body.channels.sms.provider, "webhook");
});

Deno.test("http - API answers carry no-store, nosniff and a request id", async () => {
  await using h = await startHarness();
  const res = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.ok(res.headers.get("x-request-id"));
  await res.body?.cancel();
});

Deno.test("http - a client's sane X-Request-Id is kept and logged; a long or odd one is replaced", async () => {
  await using h = await startHarness();
  const ask = async (id: string) => {
    const res = await h.app.request("/api/v1/health", { headers: { "x-request-id": id } });
    await res.body?.cancel();
    return res.headers.get("x-request-id")!;
  };
  assert.equal(await ask("trace-42_abc="), "trace-42_abc=");
  const logged = h.log.lines.map((line) => JSON.parse(line))
    .filter((entry) => entry.message === "request").map((entry) => entry.request_id);
  assert.ok(logged.includes("trace-42_abc="));
  for (const odd of ["x".repeat(65), "a b", "<script>", "id;drop"]) {
    const id = await ask(odd);
    assert.notEqual(id, odd);
    assert.match(id, /^[0-9a-f-]{36}$/);
  }
});
