import assert from "node:assert/strict";
import { maskUrl } from "../../core/admin/event_webhooks.ts";
import { ADMIN, adminHarness, call, failsWith, json } from "../routes/admin_helpers.ts";
import { startEventReceiver } from "./receiver.ts";

const SECRET = "event-hook-secret-0123456789";

Deno.test("GET /api/v1/admin/webhooks - admins only; the URL's credentials and query masked", async () => {
  await using receiver = await startEventReceiver(SECRET, { now: () => h.clock.now() });
  const url = receiver.url.replace("http://", "http://hook:pa55word@") + "?token=s3cr3t&v=2";
  await using h = await adminHarness({
    EVENT_WEBHOOK_URL: url,
    EVENT_WEBHOOK_SECRET: SECRET,
    EVENT_WEBHOOK_TYPES: "otp.verified",
  });
  await failsWith(await call(h, "GET", "/api/v1/admin/webhooks"), 401, "UNAUTHORIZED");
  const user = await h.signIn("+14155550100");
  await failsWith(
    await call(h, "GET", "/api/v1/admin/webhooks", { token: user.access_token }),
    403,
    "FORBIDDEN",
  );

  const admin = await h.signIn(ADMIN);
  await h.ctx.commits.flush();
  await h.ctx.webhooks!.settled();
  const body = await json(
    await call(h, "GET", "/api/v1/admin/webhooks", { token: admin.access_token }),
  );
  const host = new URL(receiver.url).host;
  assert.deepEqual(body, {
    url: `http://***:***@${host}/doorman/events?token=***&v=***`,
    pending: 0,
    delivered_24h: 2,
    failed_24h: 0,
    last_error: null,
    last_error_at: null,
    last_success_at: new Date(h.clock.now()).toISOString(),
  });
  assert.ok(!JSON.stringify(body).includes("s3cr3t") && !JSON.stringify(body).includes("pa55"));
  // Received by the receiver even so: the receiver takes its credentials.
  assert.equal(receiver.handled.length, 2);
  // The boot configuration on the settings page shows it the same way.
  const config = await json(
    await call(h, "GET", "/api/v1/admin/config", { token: admin.access_token }),
  ) as { boot: { event_webhook: unknown } };
  assert.deepEqual(config.boot.event_webhook, {
    url: body.url,
    signed: true,
    types: ["otp.verified"],
  });
  assert.ok(!JSON.stringify(config).includes("s3cr3t") && !JSON.stringify(config).includes(SECRET));
});

Deno.test("GET /api/v1/admin/webhooks - without EVENT_WEBHOOK_URL: no URL, nothing counted", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const body = await json(
    await call(h, "GET", "/api/v1/admin/webhooks", { token: admin.access_token }),
  );
  assert.deepEqual(body, {
    url: null,
    pending: 0,
    delivered_24h: 0,
    failed_24h: 0,
    last_error: null,
    last_error_at: null,
    last_success_at: null,
  });
});

Deno.test("maskUrl - leaves a plain URL alone and drops a fragment", () => {
  assert.equal(maskUrl("https://hooks.example.com/in"), "https://hooks.example.com/in");
  assert.equal(maskUrl("https://hooks.example.com/in#k=v"), "https://hooks.example.com/in");
});
