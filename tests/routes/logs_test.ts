import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { createContext } from "../../core/context.ts";
import { memoryLogger } from "../../core/log.ts";
import { createApp } from "../../app.ts";
import { loadAssets } from "../../web/assets.ts";
import { errorOf, startHarness, TEST_SECRET } from "../helpers.ts";
import { guardKv } from "../../fakes/kv_guard.ts";

Deno.test("logs - in production no code, token or secret appears in any line", async () => {
  await using h = await startHarness({
    env: { APP_ENV: "production", ADMIN_EMAILS: "ops@example.com" },
  });
  const secrets = new Set<string>([TEST_SECRET, "sms-hook-secret", "email-hook-secret"]);

  const first = await h.signIn("+14155550100");
  const rotated =
    await (await h.post("/api/v1/auth/refresh", { refresh_token: first.refresh_token }))
      .json();
  await (await h.post("/api/v1/auth/refresh", { refresh_token: first.refresh_token })).body
    ?.cancel();
  h.clock.advance(61_000);
  const { requestId, code } = await h.requestCode("+14155550100");
  await (await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code: "000000" })).body
    ?.cancel();
  const second = await (await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code }))
    .json();
  await (await h.get("/api/v1/me", { token: second.access_token })).body?.cancel();
  await (await h.post("/api/v1/auth/logout", {}, { token: second.access_token })).body?.cancel();
  for (const message of h.sms.messages) secrets.add(message.text.match(/code is (\d+)/)![1]);
  for (const session of [first, rotated, second]) {
    secrets.add(session.access_token);
    secrets.add(session.refresh_token);
    for (const part of session.access_token.split(".")) secrets.add(part);
  }

  assert.ok(h.log.lines.length > 10);
  for (const line of h.log.lines) {
    JSON.parse(line);
    for (const secret of secrets) assert.ok(!line.includes(secret), `leaked into: ${line}`);
  }
});

Deno.test("console provider - prints the message with its code in development", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const log = memoryLogger({ json: false });
    const ctx = await createContext(loadConfig({ APP_ENV: "development" }), kv, { log });
    const res = await createApp(ctx, { assets: await loadAssets() }).request(
      "/api/v1/auth/otp/request",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "ada@example.com" }),
      },
    );
    assert.equal(res.status, 202);
    await res.body?.cancel();
    await ctx.close();
    const line = log.lines.find((l) => l.includes("[email to ada@example.com]"));
    assert.match(line ?? "", /Doorman: your sign-in code is \d{6}\. It expires in 5 minutes\./);
  } finally {
    kv.close();
  }
});

Deno.test("errors - 500 answers carry no stack and no secret", async () => {
  await using h = await startHarness();
  h.ctx.kv.close();
  const res = await h.post("/api/v1/auth/otp/verify", { request_id: "otp_x", code: "123456" });
  assert.equal(res.status, 500);
  const error = await errorOf(res);
  assert.deepEqual(Object.keys(error).sort(), ["code", "message"]);
});
