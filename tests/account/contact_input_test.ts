import assert from "node:assert/strict";
import { openApiDocument } from "../../routes/openapi.ts";
import { errorOf, startHarness } from "../helpers.ts";
import { account } from "./helpers.ts";

Deno.test("contacts - bad input is 400 VALIDATION_FAILED, never a 500", async () => {
  await using h = await startHarness();
  const ada = await account(h, "+14155550120");
  const huge = "x".repeat(10_000);
  const cases: [string, unknown][] = [
    ["/api/v1/me/contact/request", {}],
    ["/api/v1/me/contact/request", { channel: "telegram" }],
    ["/api/v1/me/contact/request", { phone: 14155550100 }],
    ["/api/v1/me/contact/request", { phone: "+14155550100", email: "a@example.com" }],
    ["/api/v1/me/contact/request", { email: "not an email" }],
    ["/api/v1/me/contact/request", { email: `${huge}@example.com` }],
    ["/api/v1/me/contact/request", { phone: huge }],
    ["/api/v1/me/contact/request", { phone: "+14155550100", channel: "pigeon" }],
    ["/api/v1/me/contact/request", { email: "a@example.com", channel: "sms" }],
    ["/api/v1/me/contact/request", { email: "a@example.com", extra: true }],
    ["/api/v1/me/contact/request", ["a@example.com"]],
    ["/api/v1/me/contact/request", null],
    ["/api/v1/me/contact/verify", { request_id: "otp_x" }],
    ["/api/v1/me/contact/verify", { request_id: 1, code: "123456" }],
    ["/api/v1/me/contact/verify", { request_id: "otp_x", code: "12ab56" }],
    ["/api/v1/me/contact/verify", { request_id: huge, code: "123456" }],
    ["/api/v1/me/contact/verify", { request_id: "otp_x", code: "123456", user_id: "usr_x" }],
    ["/api/v1/me/telegram/link", { locale: 5 }],
    ["/api/v1/me/telegram/link", { user_id: "usr_x" }],
  ];
  for (const [path, body] of cases) {
    const res = await h.post(path, body, { token: ada.token });
    assert.equal(res.status, 400, `${path} ${JSON.stringify(body).slice(0, 80)}`);
    assert.equal((await errorOf(res)).code, "VALIDATION_FAILED");
  }
  const malformed = await h.app.request("/api/v1/me/contact/request", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ada.token}` },
    body: "{ nope",
  });
  assert.equal(malformed.status, 400);
  await malformed.body?.cancel();
  const tooBig = await h.post("/api/v1/me/contact/request", { email: "x".repeat(20_000) }, {
    token: ada.token,
  });
  assert.equal(tooBig.status, 413);
  await tooBig.body?.cancel();
  const unknown = await h.post(
    "/api/v1/me/contact/verify",
    { request_id: "otp_nothing", code: "123456" },
    { token: ada.token },
  );
  assert.equal(unknown.status, 400);
  assert.equal((await errorOf(unknown)).code, "INVALID_CODE");
});

Deno.test("contacts - Telegram linking without a bot is 503 CHANNEL_UNAVAILABLE", async () => {
  await using h = await startHarness();
  const ada = await account(h, "+14155550121");
  const res = await h.post("/api/v1/me/telegram/link", {}, { token: ada.token });
  assert.equal(res.status, 503);
  assert.equal((await errorOf(res)).code, "CHANNEL_UNAVAILABLE");
});

Deno.test("contacts - the OpenAPI describes every contact route with its schema", () => {
  const paths = openApiDocument("http://localhost").paths as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  assert.ok(paths["/api/v1/me/contact/request"].post.requestBody);
  assert.ok(paths["/api/v1/me/contact/verify"].post.requestBody);
  assert.ok(paths["/api/v1/me/telegram/link"].post);
  const remove = paths["/api/v1/me/contact/{kind}"].delete as {
    parameters: { schema: { enum: string[] } }[];
  };
  assert.deepEqual(remove.parameters[0].schema.enum, ["phone", "email", "telegram"]);
});
