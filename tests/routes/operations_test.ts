import assert from "node:assert/strict";
import { startHarness } from "../helpers.ts";

Deno.test("operations - /metrics speaks the Prometheus text format", async () => {
  await using h = await startHarness();
  await h.signIn("+14155550100");
  const res = await h.get("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /^# TYPE doorman_http_requests_total counter$/m);
  assert.match(text, /^doorman_http_requests_total\{method="POST",status="202"\} 1$/m);
  assert.match(text, /^doorman_users 1$/m);
  assert.match(text, /^doorman_users_online 1$/m);
  assert.match(text, /^doorman_otp_last_hour\{kind="verified"\} 1$/m);
  assert.match(text, /^doorman_channel_up\{channel="sms",provider="webhook"\} 1$/m);
  assert.match(text, /^doorman_channel_up\{channel="telegram",provider="none"\} 0$/m);
  for (const line of text.trim().split("\n")) {
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? \d+(\.\d+)?)$/, line);
  }
});

Deno.test("operations - openapi.json is built from the request schemas", async () => {
  await using h = await startHarness();
  const res = await h.get("/api/v1/openapi.json");
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.openapi, "3.1.0");
  const request = doc.paths["/api/v1/auth/otp/request"].post.requestBody.content["application/json"]
    .schema;
  assert.deepEqual(Object.keys(request.properties).sort(), ["channel", "email", "locale", "phone"]);
  assert.deepEqual(request.properties.channel.enum, ["auto", "sms", "telegram", "email"]);
  assert.equal(request.additionalProperties, false);
  const settings = doc.paths["/api/v1/admin/settings"].put.requestBody.content["application/json"]
    .schema;
  assert.deepEqual(settings.properties.otp_length, { type: "integer", minimum: 4, maximum: 10 });
  const users = doc.paths["/api/v1/admin/users"].get.parameters;
  assert.deepEqual(users.map((p: { name: string }) => p.name), ["status", "q", "limit", "cursor"]);
});
