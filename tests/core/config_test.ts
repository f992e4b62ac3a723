import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../core/config.ts";

const SECRET = "0123456789abcdef0123456789abcdef";

Deno.test("loadConfig() - development defaults need nothing set", () => {
  const config = loadConfig({});
  assert.equal(config.appEnv, "development");
  assert.equal(config.port, 8000);
  assert.equal(config.kvPath, "./data/kv.sqlite");
  assert.equal(config.jwtSecret, undefined);
  assert.equal(config.sms.provider, "console");
  assert.equal(config.email.provider, "console");
  assert.equal(config.settings.otp_length, 6);
  assert.equal(config.settings.presence_timeout_seconds, 120);
  assert.equal(config.accessTokenTtlSeconds, 900);
});

Deno.test("loadConfig() - production refuses to start without JWT_SECRET", () => {
  assert.throws(
    () => loadConfig({ APP_ENV: "production" }),
    (error: unknown) =>
      error instanceof ConfigError && error.problems.some((p) => p.includes("JWT_SECRET")),
  );
});

Deno.test("loadConfig() - a JWT_SECRET under 32 bytes is refused", () => {
  assert.throws(() => loadConfig({ APP_ENV: "production", JWT_SECRET: "short" }), /32 bytes/);
  assert.throws(() => loadConfig({ JWT_SECRET: "x".repeat(31) }), /32 bytes/);
});

Deno.test("loadConfig() - production refuses console providers", () => {
  assert.throws(
    () => loadConfig({ APP_ENV: "production", JWT_SECRET: SECRET, SMS_PROVIDER: "console" }),
    /SMS_PROVIDER=console/,
  );
  assert.throws(
    () => loadConfig({ APP_ENV: "production", JWT_SECRET: SECRET, EMAIL_PROVIDER: "console" }),
    /EMAIL_PROVIDER=console/,
  );
  const config = loadConfig({ APP_ENV: "production", JWT_SECRET: SECRET });
  assert.equal(config.sms.provider, "none");
  assert.equal(config.email.provider, "none");
});

Deno.test("loadConfig() - providers need their settings", () => {
  assert.throws(() => loadConfig({ SMS_PROVIDER: "webhook" }), /SMS_WEBHOOK_URL/);
  assert.throws(() => loadConfig({ SMS_PROVIDER: "twilio" }), /TWILIO_ACCOUNT_SID/);
  assert.throws(() => loadConfig({ SMS_PROVIDER: "pigeon" }), /SMS_PROVIDER/);
  const twilio = loadConfig({
    SMS_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: "AC1",
    TWILIO_AUTH_TOKEN: "t",
    TWILIO_FROM: "+15005550006",
  });
  assert.equal(twilio.sms.provider, "twilio");
});

Deno.test("loadConfig() - setting defaults come from the environment, within range", () => {
  const config = loadConfig({
    OTP_LENGTH: "8",
    OTP_TTL_SECONDS: "60",
    CORS_ORIGINS: "https://a.io, https://b.io",
  });
  assert.equal(config.settings.otp_length, 8);
  assert.equal(config.settings.otp_ttl_seconds, 60);
  assert.deepEqual(config.corsOrigins, ["https://a.io", "https://b.io"]);
  assert.throws(() => loadConfig({ OTP_LENGTH: "3" }), /OTP_LENGTH/);
  assert.throws(() => loadConfig({ OTP_LENGTH: "six" }), /OTP_LENGTH/);
  assert.throws(
    () => loadConfig({ HEARTBEAT_INTERVAL_SECONDS: "200" }),
    /HEARTBEAT_INTERVAL_SECONDS: must be below presence_timeout_seconds/,
  );
});

Deno.test("loadConfig() - bootstrap admins are kept in canonical form", () => {
  const config = loadConfig({ ADMIN_PHONES: "+1 (415) 555-0100", ADMIN_EMAILS: "Ada@Example.com" });
  assert.deepEqual(config.adminPhones, ["+14155550100"]);
  assert.deepEqual(config.adminEmails, ["ada@example.com"]);
  assert.throws(() => loadConfig({ ADMIN_PHONES: "555-0100" }), /ADMIN_PHONES/);
});

Deno.test("loadConfig() - production webhooks must be signed", () => {
  const base = { APP_ENV: "production", JWT_SECRET: SECRET };
  assert.throws(
    () =>
      loadConfig({ ...base, SMS_PROVIDER: "webhook", SMS_WEBHOOK_URL: "https://h.example/sms" }),
    /SMS_WEBHOOK_SECRET/,
  );
  assert.throws(
    () =>
      loadConfig({ ...base, EMAIL_PROVIDER: "webhook", EMAIL_WEBHOOK_URL: "https://h.example/m" }),
    /EMAIL_WEBHOOK_SECRET/,
  );
  const config = loadConfig({
    ...base,
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: "https://h.example/sms",
    SMS_WEBHOOK_SECRET: "s",
  });
  assert.equal(config.sms.provider, "webhook");
});

Deno.test("loadConfig() - APP_NAME names the product in messages: trimmed, one line, 1-64 characters", () => {
  assert.equal(loadConfig({}).appName, "Doorman");
  assert.equal(loadConfig({ APP_NAME: "  Acme Cloud  " }).appName, "Acme Cloud");
  assert.equal(loadConfig({ APP_NAME: "x".repeat(64) }).appName, "x".repeat(64));
  assert.throws(() => loadConfig({ APP_NAME: "" }), /APP_NAME/);
  assert.throws(() => loadConfig({ APP_NAME: "   " }), /APP_NAME/);
  assert.throws(() => loadConfig({ APP_NAME: "x".repeat(65) }), /APP_NAME/);
  assert.throws(() => loadConfig({ APP_NAME: "Acme\r\nBcc: eve@example.com" }), /APP_NAME/);
});

Deno.test("loadConfig() - KV_PATH takes a KV Connect URL, with DENO_KV_ACCESS_TOKEN", () => {
  const token = { DENO_KV_ACCESS_TOKEN: "denokv-access-token-0123456789" };
  for (const url of ["https://kv.example.com", "http://denokv:4512", "HTTPS://kv.example.com/v"]) {
    assert.equal(loadConfig({ KV_PATH: url, ...token }).kvPath, url);
  }
  assert.throws(
    () => loadConfig({ KV_PATH: "http://denokv:4512" }),
    /DENO_KV_ACCESS_TOKEN: required with a KV Connect URL in KV_PATH/,
  );
  assert.throws(
    () => loadConfig({ KV_PATH: "ftp://kv.example.com", ...token }),
    /KV_PATH: a KV Connect URL starts with http:\/\/ or https:\/\//,
  );
  assert.throws(() => loadConfig({ KV_PATH: "https://", ...token }), /KV_PATH: not a valid/);
  // A token alone changes nothing for a file or the platform's own KV.
  assert.equal(loadConfig({ KV_PATH: "/data/kv.sqlite", ...token }).kvPath, "/data/kv.sqlite");
  assert.equal(loadConfig({ DENO_DEPLOYMENT_ID: "abc", ...token }).kvPath, undefined);
});

Deno.test("loadConfig() - every problem at once, each naming its variable in words", () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error("no ConfigError");
  };
  assert.deepEqual(problemsOf({ PORT: "abc", OTP_LENGTH: "3" }), [
    'PORT: must be a whole number from 0 to 65535, not "abc"',
    'OTP_LENGTH: must be a whole number from 4 to 10, not "3"',
  ]);
  // A bad value of the first kind hides none of the checks made after it.
  const problems = problemsOf({
    PORT: "8000.5",
    APP_ENV: "prod",
    TRUST_PROXY: "yes",
    PUBLIC_URL: "ftp://example.com",
    METRICS_TOKEN: "short-secret",
    KV_PATH: "ftp://kv.example.com",
    ADMIN_EMAILS: "nobody",
    SMS_DAILY_LIMIT: "lots",
  });
  for (
    const name of [
      "PORT",
      "APP_ENV",
      "TRUST_PROXY",
      "PUBLIC_URL",
      "METRICS_TOKEN",
      "KV_PATH",
      "ADMIN_EMAILS",
      "SMS_DAILY_LIMIT",
    ]
  ) {
    assert.ok(problems.some((p) => p.startsWith(`${name}: `)), `${name} in ${problems}`);
  }
  const text = problems.join("\n");
  assert.doesNotMatch(text, /NaN|expected|received|Invalid option/);
  assert.doesNotMatch(text, /short-secret/, "a secret's value is never echoed");
  // Unset or empty numbers take their defaults.
  assert.equal(loadConfig({ PORT: "" }).port, 8000);
  assert.equal(loadConfig({ SMS_DAILY_LIMIT: " " }).smsProtection.dailyLimit, null);
});
