import assert from "node:assert/strict";
import { errorOf } from "../helpers.ts";
import { PERSON, startTelegramHarness, WEBHOOK_SECRET } from "./helpers.ts";
import { textUpdate } from "../../fakes/telegram.ts";
import { getChatOfPhone } from "../../kv/telegram.ts";

const PHONE = "+14155550100";

Deno.test("telegram - a shared own contact links the phone; someone else's is refused", async () => {
  await using t = await startTelegramHarness();
  await t.say("/start");
  const welcome = t.tg.messages.at(-1)!;
  assert.match(welcome.text, /Share your phone number once/);
  assert.deepEqual(
    (welcome.reply_markup as { keyboard: { request_contact: boolean }[][] }).keyboard[0][0]
      .request_contact,
    true,
  );

  await t.share("14155550100", { userId: 42 });
  assert.match(t.tg.messages.at(-1)!.text, /someone else's contact/);
  assert.equal(await getChatOfPhone(t.h.ctx.kv, PHONE), null);

  await t.share("14155550100");
  assert.match(t.tg.messages.at(-1)!.text, /Linked \+1415•••0100 to this chat/);
  assert.equal(await getChatOfPhone(t.h.ctx.kv, PHONE), String(PERSON.id));

  await t.say("/unlink");
  assert.match(t.tg.messages.at(-1)!.text, /Unlinked \+1415•••0100/);
  assert.equal(await getChatOfPhone(t.h.ctx.kv, PHONE), null);
});

Deno.test("telegram - phone sign-in through the deep link: share, code, verify, message gone", async () => {
  await using t = await startTelegramHarness();
  const res = await t.h.post("/api/v1/auth/otp/request", { phone: PHONE, channel: "telegram" });
  assert.equal(res.status, 202);
  const body = await res.json();
  assert.equal(body.channel, "telegram");
  const token = body.deep_link.match(/^https:\/\/t\.me\/doorman_test_bot\?start=([\w-]+)$/)?.[1];
  assert.ok(token, body.deep_link);
  assert.equal(t.tg.messages.length, 0, "not linked yet: nothing is sent");
  assert.equal(t.h.sms.messages.length, 0);

  await t.say(`/start ${token}`);
  assert.match(t.tg.messages.at(-1)!.text, /To sign in as \+1415•••0100, tap "Share my phone/);
  await t.share("+1 415 555 0100");
  const message = t.tg.messages.at(-1)!;
  assert.equal(message.parse_mode, "HTML");
  assert.match(message.text, /^Hi Ada,\nYour <b>Doorman<\/b> sign-in code:\n\n<code>\d{6}<\/code>/);
  assert.match(message.text, /expires in 5 minutes\. This message deletes itself in 30 seconds\./);
  assert.match(message.text, /Do not share it with anyone/);

  const verified = await t.h.post("/api/v1/auth/otp/verify", {
    request_id: body.request_id,
    code: t.lastCode(),
  });
  assert.equal(verified.status, 200);
  const session = await verified.json();
  assert.equal(session.user.phone, PHONE);
  assert.equal(session.user.telegram_id, String(PERSON.id), "ids above 2^32 stay exact");
  assert.ok(message.deleted_at !== null, "the code message is deleted at once on use");
  assert.equal(t.tg.visible(PERSON.id).filter((m) => m.text.includes("<code>")).length, 0);
});

Deno.test("telegram - a linked phone gets its code at once; auto prefers Telegram", async () => {
  await using t = await startTelegramHarness();
  await t.share(PHONE);
  const explicit = await t.h.post("/api/v1/auth/otp/request", {
    phone: PHONE,
    channel: "telegram",
  });
  const body = await explicit.json();
  assert.equal(body.channel, "telegram");
  assert.ok(body.deep_link);
  assert.ok(t.lastCode(), "sent without opening the link");

  t.h.clock.advance(61_000);
  const auto = await t.h.post("/api/v1/auth/otp/request", { phone: PHONE });
  const autoBody = await auto.json();
  assert.equal(autoBody.channel, "telegram");
  assert.equal(autoBody.deep_link, undefined);
  assert.equal(t.h.sms.messages.length, 0);
  const verified = await t.h.post("/api/v1/auth/otp/verify", {
    request_id: autoBody.request_id,
    code: t.lastCode(),
  });
  assert.equal(verified.status, 200);
  await verified.body?.cancel();
});

Deno.test("telegram - deep-link sign-in without a recipient signs in the Telegram user", async () => {
  await using t = await startTelegramHarness();
  const res = await t.h.post("/api/v1/auth/otp/request", { channel: "telegram" });
  assert.equal(res.status, 202);
  const body = await res.json();
  const token = new URL(body.deep_link).searchParams.get("start");
  await t.say(`/start ${token}`);
  const verified = await t.h.post("/api/v1/auth/otp/verify", {
    request_id: body.request_id,
    code: t.lastCode(),
  });
  assert.equal(verified.status, 200);
  const session = await verified.json();
  assert.equal(session.user.telegram_id, String(PERSON.id));
  assert.equal(session.user.phone, null);

  // The link works once: a second /start finds nothing to continue.
  await t.say(`/start ${token}`);
  assert.match(t.tg.messages.at(-1)!.text, /expired or was already used/);
});

Deno.test("telegram - names are escaped in the code message", async () => {
  await using t = await startTelegramHarness();
  const res = await t.h.post("/api/v1/auth/otp/request", { channel: "telegram" });
  const token = new URL((await res.json()).deep_link).searchParams.get("start");
  await t.say(`/start ${token}`, { id: PERSON.id, first_name: "<b>Eve & co</b>" });
  const message = t.tg.messages.at(-1)!;
  assert.match(message.text, /^Hi &lt;b&gt;Eve &amp; co&lt;\/b&gt;,/);
});

Deno.test("telegram - an unused code message deletes itself on time", async () => {
  await using t = await startTelegramHarness({ env: { TELEGRAM_AUTODELETE_SECONDS: "20" } });
  await t.share(PHONE);
  await (await t.h.post("/api/v1/auth/otp/request", { phone: PHONE })).body?.cancel();
  const message = t.tg.messages.at(-1)!;
  t.h.clock.advance(19_999);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(message.deleted_at, null);
  t.h.clock.advance(1);
  const deadline = Date.now() + 2000;
  while (message.deleted_at === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(message.deleted_at !== null, "deleted at the 20th second");
  const call = t.tg.calls.findLast((c) => c.method === "deleteMessage")!;
  assert.equal(call.payload.message_id, message.message_id);
});

Deno.test("telegram - after a restart the cron sweep still deletes due messages", async () => {
  await using first = await startTelegramHarness();
  await first.share(PHONE);
  await (await first.h.post("/api/v1/auth/otp/request", { phone: PHONE })).body?.cancel();
  const message = first.tg.messages.at(-1)!;
  first.h.ctx.telegram!.deleter.stop(); // the process dies: its timers are gone

  await using second = await startTelegramHarness({
    kv: first.h.ctx.kv,
    clock: first.h.clock,
    tg: first.tg,
  });
  assert.equal(await second.h.ctx.telegram!.deleter.sweep(), 0, "nothing due yet");
  first.h.clock.advance(31_000);
  assert.equal(await second.h.ctx.telegram!.deleter.sweep(), 1);
  assert.ok(message.deleted_at !== null);
  const call = first.tg.calls.findLast((c) => c.method === "deleteMessages")!;
  assert.deepEqual(call.payload.message_ids, [message.message_id]);
  assert.equal(await second.h.ctx.telegram!.deleter.sweep(), 0, "the job is gone");
});

Deno.test("telegram - a message already gone counts as deleted", async () => {
  await using t = await startTelegramHarness();
  await t.share(PHONE);
  await (await t.h.post("/api/v1/auth/otp/request", { phone: PHONE })).body?.cancel();
  const message = t.tg.messages.at(-1)!;
  t.h.ctx.telegram!.deleter.stop();
  await (await fetch(`${t.tg.apiRoot}/bot${t.tg.token}/deleteMessage`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ chat_id: message.chat_id, message_id: message.message_id }),
  })).body?.cancel();
  t.h.clock.advance(31_000);
  assert.equal(await t.h.ctx.telegram!.deleter.sweep(), 1);
  assert.equal(await t.h.ctx.telegram!.deleter.sweep(), 0);
});

Deno.test("telegram - a wrong or missing webhook secret is 403 and nothing is processed", async () => {
  await using t = await startTelegramHarness();
  const update = textUpdate({ from: PERSON, text: "/start" });
  const variants: Record<string, string>[] = [{}, { "x-telegram-bot-api-secret-token": "wrong" }];
  for (const headers of variants) {
    const res = await t.h.app.request("/telegram/webhook", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(update),
    });
    assert.equal(res.status, 403);
    assert.equal((await errorOf(res)).code, "FORBIDDEN");
  }
  await t.h.ctx.telegram!.idle();
  assert.equal(t.tg.calls.filter((c) => c.method === "sendMessage").length, 0);
  // Not even claimed: the same update with the right secret is processed.
  const ok = await t.deliver(update);
  assert.equal(ok.status, 200);
  assert.equal(t.tg.calls.filter((c) => c.method === "sendMessage").length, 1);
});

Deno.test("telegram - a repeated update is processed once", async () => {
  await using t = await startTelegramHarness();
  const update = textUpdate({ from: PERSON, text: "/start" });
  assert.equal((await t.deliver(update)).status, 200);
  assert.equal((await t.deliver(update)).status, 200);
  assert.equal(t.tg.calls.filter((c) => c.method === "sendMessage").length, 1);
  const bad = await t.h.app.request("/telegram/webhook", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-telegram-bot-api-secret-token": WEBHOOK_SECRET,
    },
    body: JSON.stringify({ message: {} }),
  });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
});

Deno.test("telegram - a 429 retry_after is waited out and the code still goes", async () => {
  await using t = await startTelegramHarness();
  await t.share(PHONE);
  t.tg.failNext("sendMessage", {
    error_code: 429,
    description: "Too Many Requests: retry after 1",
    retry_after: 1,
  });
  const res = await t.h.post("/api/v1/auth/otp/request", { phone: PHONE });
  assert.equal(res.status, 202);
  assert.equal((await res.json()).channel, "telegram");
  const sends = t.tg.calls.filter((c) => c.method === "sendMessage").slice(-2);
  assert.equal(sends.length, 2);
  assert.ok(sends[1].at - sends[0].at >= 1000, `${sends[1].at - sends[0].at} ms apart`);
  assert.ok(t.lastCode());
});

Deno.test("telegram - a blocked bot (403) falls back to SMS for auto, 503 for telegram", async () => {
  await using t = await startTelegramHarness();
  await t.share(PHONE);
  const blocked = { error_code: 403, description: "Forbidden: bot was blocked by the user" };
  t.tg.failNext("sendMessage", blocked);
  const auto = await t.h.post("/api/v1/auth/otp/request", { phone: PHONE });
  assert.equal(auto.status, 202);
  const body = await auto.json();
  assert.equal(body.channel, "sms");
  const code = t.h.sms.lastCode(PHONE)!;
  const verified = await t.h.post("/api/v1/auth/otp/verify", { request_id: body.request_id, code });
  assert.equal(verified.status, 200);
  await verified.body?.cancel();

  const health = await (await t.h.get("/api/v1/health")).json();
  assert.equal(health.channels.telegram.ok, false);
  assert.match(health.channels.telegram.last_error, /403: Forbidden: bot was blocked/);

  t.h.clock.advance(61_000);
  t.tg.failNext("sendMessage", blocked);
  const explicit = await t.h.post("/api/v1/auth/otp/request", {
    phone: PHONE,
    channel: "telegram",
  });
  assert.equal(explicit.status, 503);
  assert.equal((await errorOf(explicit)).code, "CHANNEL_UNAVAILABLE");
});

Deno.test("telegram - without a bot, telegram requests are 503", async () => {
  const { startHarness } = await import("../helpers.ts");
  await using h = await startHarness();
  const res = await h.post("/api/v1/auth/otp/request", { channel: "telegram" });
  assert.equal(res.status, 503);
  await res.body?.cancel();
  const hook = await h.post("/telegram/webhook", { update_id: 1 });
  assert.equal(hook.status, 404);
  await hook.body?.cancel();
});
