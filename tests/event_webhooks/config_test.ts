import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../core/config.ts";
import { baseEnv } from "../../bench/doorman_process.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const JWT_SECRET = "0123456789abcdef0123456789abcdef";
const PRODUCTION = { APP_ENV: "production", JWT_SECRET, SMS_PROVIDER: "none" };
const URL_ONLY = { EVENT_WEBHOOK_URL: "https://hooks.example.com/doorman" };

Deno.test("loadConfig() - the event webhook: off without a URL; types listed", () => {
  assert.equal(loadConfig({}).eventWebhook, null);
  const config = loadConfig({
    ...URL_ONLY,
    EVENT_WEBHOOK_SECRET: "s",
    EVENT_WEBHOOK_TYPES: " presence.* , otp.verified ,",
  });
  assert.deepEqual(config.eventWebhook, {
    url: URL_ONLY.EVENT_WEBHOOK_URL,
    secret: "s",
    types: ["presence.*", "otp.verified"],
  });
  // Unsigned deliveries are for development only.
  assert.equal(loadConfig(URL_ONLY).eventWebhook?.secret, undefined);
});

Deno.test("loadConfig() - production refuses an event webhook without a secret", () => {
  assert.throws(
    () => loadConfig({ ...PRODUCTION, ...URL_ONLY }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems.includes(
        "EVENT_WEBHOOK_SECRET: required with EVENT_WEBHOOK_URL in production",
      ),
  );
  assert.ok(loadConfig({ ...PRODUCTION, ...URL_ONLY, EVENT_WEBHOOK_SECRET: "s" }).eventWebhook);
});

Deno.test("loadConfig() - a bad event webhook URL or type pattern is refused", () => {
  assert.throws(() => loadConfig({ EVENT_WEBHOOK_URL: "ftp://x" }), /EVENT_WEBHOOK_URL/);
  for (const types of ["Presence.*", "*.online", "otp verified", "otp.**"]) {
    assert.throws(
      () => loadConfig({ ...URL_ONLY, EVENT_WEBHOOK_TYPES: types }),
      /EVENT_WEBHOOK_TYPES: ".*" is not an event type/,
      types,
    );
  }
  for (const types of ["*", "otp*", "presence.*", "fraud.prefix_blocked"]) {
    assert.deepEqual(loadConfig({ ...URL_ONLY, EVENT_WEBHOOK_TYPES: types }).eventWebhook?.types, [
      types,
    ]);
  }
});

Deno.test("main.ts - production with EVENT_WEBHOOK_URL and no secret does not start, and says why", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"],
    cwd: ROOT,
    env: { ...baseEnv(), ...PRODUCTION, ...URL_ONLY, KV_PATH: ":memory:", PORT: "0" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 1, stderr);
  assert.match(stderr, /Invalid configuration:/);
  assert.match(stderr, /EVENT_WEBHOOK_SECRET: required with EVENT_WEBHOOK_URL in production/);
  assert.doesNotMatch(new TextDecoder().decode(output.stdout), /listening/);
});
