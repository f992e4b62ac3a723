import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { startFakeSmtp } from "../fakes/smtp.ts";
import { errorOf, startHarness } from "../helpers.ts";

const EMAIL = "ada@example.com";

Deno.test("smtp provider - sends the code by email and it signs in", async () => {
  await using smtp = startFakeSmtp({ user: "doorman", pass: "s3cret/+" });
  await using h = await startHarness({
    env: { EMAIL_PROVIDER: "smtp", SMTP_URL: smtp.url, EMAIL_FROM: "Doorman <codes@example.com>" },
  });
  const res = await h.post("/api/v1/auth/otp/request", { email: EMAIL });
  assert.equal(res.status, 202);
  const { request_id, channel } = await res.json();
  assert.equal(channel, "email");
  const message = smtp.messages.at(-1)!;
  assert.equal(message.from, "codes@example.com");
  assert.deepEqual(message.to, [EMAIL]);
  assert.equal(message.authenticatedAs, "doorman");
  assert.match(message.subject, /^Doorman sign-in code: \d{6}$/);
  assert.match(message.data, /Content-Type: multipart\/alternative/);
  assert.match(message.data, /Content-Type: text\/html/);
  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id,
    code: smtp.lastCode(EMAIL),
  });
  assert.equal(verified.status, 200);
  assert.equal((await verified.json()).user.email, EMAIL);
  const health = await (await h.get("/api/v1/health")).json();
  assert.equal(health.channels.email.provider, "smtp");
  assert.equal(health.channels.email.ok, true);
});

Deno.test("smtp provider - a refusal or a wrong login is 503 CHANNEL_UNAVAILABLE", async () => {
  await using smtp = startFakeSmtp({ user: "doorman", pass: "right" });
  {
    await using h = await startHarness({
      env: { EMAIL_PROVIDER: "smtp", SMTP_URL: smtp.url, EMAIL_FROM: "codes@example.com" },
    });
    smtp.failNext = { stage: "rcpt", code: 550, text: "5.1.1 No such user" };
    const res = await h.post("/api/v1/auth/otp/request", { email: EMAIL });
    assert.equal(res.status, 503);
    assert.equal((await errorOf(res)).code, "CHANNEL_UNAVAILABLE");
    const health = await (await h.get("/api/v1/health")).json();
    assert.equal(health.channels.email.last_error, "smtp answered 550");
  }
  {
    const wrong = smtp.url.replace(":right@", ":wrong@");
    await using h = await startHarness({
      env: { EMAIL_PROVIDER: "smtp", SMTP_URL: wrong, EMAIL_FROM: "codes@example.com" },
    });
    const res = await h.post("/api/v1/auth/otp/request", { email: EMAIL });
    assert.equal(res.status, 503);
    await res.body?.cancel();
    const health = await (await h.get("/api/v1/health")).json();
    assert.equal(health.channels.email.last_error, "smtp refused the login");
    assert.equal(smtp.messages.length, 0);
  }
});

Deno.test("loadConfig() - smtp needs SMTP_URL and EMAIL_FROM, with an smtp(s) URL", () => {
  assert.throws(() => loadConfig({ EMAIL_PROVIDER: "smtp" }), /SMTP_URL: required/);
  assert.throws(
    () => loadConfig({ EMAIL_PROVIDER: "smtp", SMTP_URL: "smtp://h:25" }),
    /EMAIL_FROM: required/,
  );
  assert.throws(
    () => loadConfig({ EMAIL_PROVIDER: "smtp", SMTP_URL: "http://h", EMAIL_FROM: "a@b.co" }),
    /SMTP_URL: must look like/,
  );
  const config = loadConfig({
    EMAIL_PROVIDER: "smtp",
    SMTP_URL: "smtps://u:p@mail.example.com:465",
    EMAIL_FROM: "a@b.co",
  });
  assert.equal(config.email.provider, "smtp");
});

Deno.test("smtp provider - no server, or one that never greets, fails fast", async () => {
  const { smtpChannel } = await import("../../core/delivery/smtp.ts");
  const { codeMessage } = await import("../../core/delivery/messages.ts");
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const refused = smtpChannel({ url: `smtp://127.0.0.1:${port}`, from: "a@b.co", timeoutMs: 500 });
  await assert.rejects(() => refused.send(EMAIL, codeMessage("123456", 60)), /could not connect/);

  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  const stalled = smtpChannel({
    url: `smtp://127.0.0.1:${(silent.addr as Deno.NetAddr).port}`,
    from: "a@b.co",
    timeoutMs: 300,
  });
  const started = performance.now();
  await assert.rejects(() => stalled.send(EMAIL, codeMessage("123456", 60)), /timed out/);
  assert.ok(performance.now() - started < 3000);
  silent.close();
  for (const conn of held) conn.close();
  await accepting.catch(() => {});
});
