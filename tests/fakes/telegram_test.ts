import assert from "node:assert/strict";
import { Bot } from "grammy/web";
import {
  contactUpdate,
  type FakeTelegram,
  startFakeTelegram,
  textUpdate,
} from "../../fakes/telegram.ts";

interface Answer {
  status: number;
  type: string | null;
  // deno-lint-ignore no-explicit-any
  body: any;
}

async function callApi(
  fake: FakeTelegram,
  method: string,
  payload: Record<string, unknown> = {},
  options: { token?: string; signal?: AbortSignal } = {},
): Promise<Answer> {
  const res = await fetch(`${fake.apiRoot}/bot${options.token ?? fake.token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    signal: options.signal,
  });
  return { status: res.status, type: res.headers.get("content-type"), body: await res.json() };
}

Deno.test("fake telegram - getMe describes the bot", async () => {
  await using fake = startFakeTelegram();
  const res = await callApi(fake, "getMe");
  assert.equal(res.status, 200);
  assert.equal(res.type, "application/json");
  assert.deepEqual(res.body, {
    ok: true,
    result: {
      id: 7000000001,
      is_bot: true,
      first_name: "Doorman Test",
      username: "doorman_test_bot",
      can_join_groups: false,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    },
  });
  assert.deepEqual(fake.calls.map((c) => c.method), ["getMe"]);
});

Deno.test("fake telegram - a wrong token is 401 Unauthorized", async () => {
  await using fake = startFakeTelegram();
  const res = await callApi(fake, "getMe", {}, { token: "1:WRONG" });
  assert.equal(res.status, 401);
  assert.deepEqual(res.body, { ok: false, error_code: 401, description: "Unauthorized" });
  const unknown = await callApi(fake, "sendPigeon");
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.description, "Not Found: method not found");
});

Deno.test("fake telegram - a sent message can be deleted once", async () => {
  await using fake = startFakeTelegram();
  const sent = await callApi(fake, "sendMessage", { chat_id: 42, text: "Your code is 123456" });
  assert.equal(sent.status, 200);
  const message = sent.body.result;
  assert.equal(message.chat.id, 42);
  assert.equal(message.from.id, fake.bot.id);
  assert.equal(message.text, "Your code is 123456");
  assert.equal(fake.visible(42).length, 1);
  const deleted = await callApi(fake, "deleteMessage", {
    chat_id: 42,
    message_id: message.message_id,
  });
  assert.equal(deleted.status, 200);
  assert.deepEqual(deleted.body, { ok: true, result: true });
  assert.equal(fake.visible(42).length, 0);
  assert.equal(typeof fake.messages[0].deleted_at, "number");
  const again = await callApi(fake, "deleteMessage", {
    chat_id: 42,
    message_id: message.message_id,
  });
  assert.equal(again.status, 400);
  assert.deepEqual(again.body, {
    ok: false,
    error_code: 400,
    description: "Bad Request: message to delete not found",
  });
});

Deno.test("fake telegram - deleteMessages skips ids that are not there", async () => {
  await using fake = startFakeTelegram();
  const first = (await callApi(fake, "sendMessage", { chat_id: 7, text: "one" })).body.result;
  const second = (await callApi(fake, "sendMessage", { chat_id: 7, text: "two" })).body.result;
  await callApi(fake, "sendMessage", { chat_id: 7, text: "three" });
  const res = await callApi(fake, "deleteMessages", {
    chat_id: 7,
    message_ids: [first.message_id, 9999, second.message_id],
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.result, true);
  assert.deepEqual(fake.visible(7).map((m) => m.text), ["three"]);
  const empty = await callApi(fake, "deleteMessages", { chat_id: 7, message_ids: [] });
  assert.equal(empty.status, 400);
  assert.equal(empty.body.description, "Bad Request: message identifiers are not specified");
});

Deno.test("fake telegram - an injected 429 fails only the configured number of calls", async () => {
  await using fake = startFakeTelegram();
  const failure = {
    error_code: 429,
    description: "Too Many Requests: retry after 3",
    retry_after: 3,
  };
  fake.failNext("sendMessage", failure, 2);
  for (let i = 0; i < 2; i++) {
    const res = await callApi(fake, "sendMessage", { chat_id: 1, text: "hi" });
    assert.equal(res.status, 429);
    assert.deepEqual(res.body, {
      ok: false,
      error_code: 429,
      description: "Too Many Requests: retry after 3",
      parameters: { retry_after: 3 },
    });
  }
  assert.equal((await callApi(fake, "getMe")).status, 200);
  assert.equal((await callApi(fake, "sendMessage", { chat_id: 1, text: "hi" })).status, 200);
  assert.deepEqual(fake.calls.map((c) => c.method), [
    "sendMessage",
    "sendMessage",
    "getMe",
    "sendMessage",
  ]);
  assert.equal(fake.messages.length, 1);
});

Deno.test("fake telegram - getUpdates long-polls for a pushed update and honours offset", async () => {
  await using fake = startFakeTelegram();
  const polling = callApi(fake, "getUpdates", { timeout: 10 });
  while (fake.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
  const pushed = fake.pushUpdate(textUpdate({ from: { id: 42 }, text: "/start abc" }));
  const res = await polling;
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.result, [pushed]);
  assert.deepEqual(pushed.message, {
    ...(pushed.message as object),
    chat: { id: 42, first_name: "Test", type: "private" },
    text: "/start abc",
    entities: [{ type: "bot_command", offset: 0, length: 6 }],
  });
  const id = pushed.update_id as number;
  const contact = fake.pushUpdate(
    contactUpdate({ from: { id: 42 }, contact: { phone_number: "+15550100", user_id: 42 } }),
  );
  const next = await callApi(fake, "getUpdates", { offset: id + 1, timeout: 0 });
  assert.deepEqual(next.body.result, [contact]);
  const confirmed = await callApi(fake, "getUpdates", { offset: id + 2, timeout: 0 });
  assert.deepEqual(confirmed.body.result, []);
});

Deno.test("fake telegram - close() ends a pending long poll at once", async () => {
  const fake = startFakeTelegram();
  const started = Date.now();
  const polling = callApi(fake, "getUpdates", { timeout: 30 });
  while (fake.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
  await fake.close();
  const res = await polling;
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.result, []);
  assert.ok(Date.now() - started < 5000);
});

Deno.test("fake telegram - getUpdates while a webhook is set is 409", async () => {
  await using fake = startFakeTelegram();
  const set = await callApi(fake, "setWebhook", {
    url: "https://doorman.example/telegram",
    secret_token: "s3cret",
  });
  assert.equal(set.body.result, true);
  assert.deepEqual(fake.webhook, {
    url: "https://doorman.example/telegram",
    secret_token: "s3cret",
  });
  const res = await callApi(fake, "getUpdates");
  assert.equal(res.status, 409);
  assert.match(res.body.description, /^Conflict: can't use getUpdates method while webhook/);
  await callApi(fake, "deleteWebhook");
  assert.equal(fake.webhook, null);
  assert.equal((await callApi(fake, "getUpdates")).status, 200);
});

Deno.test("fake telegram - HTML messages must be well-formed Telegram HTML", async () => {
  await using fake = startFakeTelegram();
  const send = (text: string) =>
    callApi(fake, "sendMessage", { chat_id: 5, text, parse_mode: "HTML" });
  const script = await send("<script>alert(1)</script>");
  assert.equal(script.status, 400);
  assert.equal(
    script.body.description,
    `Bad Request: can't parse entities: Unsupported start tag "script" at byte offset 0`,
  );
  const ampersand = await send("Tom & Jerry");
  assert.equal(ampersand.status, 400);
  assert.match(ampersand.body.description, /^Bad Request: can't parse entities: /);
  const ok = await send("Code <code>123</code> &amp; more");
  assert.equal(ok.status, 200);
  assert.equal(ok.body.result.text, "Code 123 & more");
  assert.deepEqual(fake.messages.map((m) => m.text), ["Code <code>123</code> &amp; more"]);
});

Deno.test("fake telegram - form and multipart bodies are decoded", async () => {
  await using fake = startFakeTelegram();
  const url = `${fake.apiRoot}/bot${fake.token}/sendMessage`;
  const form = new URLSearchParams({ chat_id: "9", text: "007", reply_markup: '{"a":1}' });
  const res = await fetch(url, { method: "POST", body: form });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const multipart = new FormData();
  multipart.set("chat_id", "9");
  multipart.set("message_ids", "[1]");
  const deleted = await fetch(url.replace("sendMessage", "deleteMessages"), {
    method: "POST",
    body: multipart,
  });
  assert.equal(deleted.status, 200);
  await deleted.body?.cancel();
  assert.deepEqual(fake.calls.map((c) => c.payload), [
    { chat_id: 9, text: "007", reply_markup: { a: 1 } },
    { chat_id: 9, message_ids: [1] },
  ]);
  assert.equal(fake.visible(9).length, 0);
});

Deno.test("fake telegram - grammY can talk to it", async () => {
  await using fake = startFakeTelegram();
  const bot = new Bot(fake.token, { client: { apiRoot: fake.apiRoot } });
  await bot.init();
  assert.equal(bot.botInfo.username, "doorman_test_bot");
  const sent = await bot.api.sendMessage(42, "<b>hi</b>", { parse_mode: "HTML" });
  assert.equal(sent.text, "hi");
  assert.equal(await bot.api.deleteMessage(42, sent.message_id), true);
  assert.deepEqual(fake.calls.map((c) => c.method), ["getMe", "sendMessage", "deleteMessage"]);
  assert.equal(fake.messages[0].text, "<b>hi</b>");
  assert.equal(fake.visible(42).length, 0);
});

Deno.test("fake telegram - a long-polling grammY bot answers a person and stops cleanly", async () => {
  await using fake = startFakeTelegram();
  const bot = new Bot(fake.token, { client: { apiRoot: fake.apiRoot } });
  const replied = Promise.withResolvers<void>();
  bot.command("start", async (ctx) => {
    await ctx.reply(`hello ${ctx.match}`);
    replied.resolve();
  });
  const running = bot.start();
  const pushed = fake.pushUpdate(
    textUpdate({ from: { id: 42, first_name: "Ann" }, text: "/start abc" }),
  );
  await replied.promise;
  const polls = () => fake.calls.filter((c) => c.method === "getUpdates");
  // Stop while the next long poll is pending, so the fake must notice the client going away.
  while (polls().length < 2) await new Promise((r) => setTimeout(r, 5));
  await bot.stop();
  await running;
  assert.deepEqual(fake.visible(42).map((m) => m.text), ["hello abc"]);
  assert.equal(polls().at(-1)?.payload.offset, (pushed.update_id as number) + 1);
});
