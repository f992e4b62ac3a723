import assert from "node:assert/strict";
import { keys } from "../../kv/keys.ts";
import { errorOf, recordEvents } from "../helpers.ts";
import { PERSON, startTelegramHarness } from "../telegram/helpers.ts";
import { account, me, removeContact } from "./helpers.ts";
import type { Harness } from "../helpers.ts";
import type { Account } from "./helpers.ts";

/** Asks for a Telegram link as `who`; returns its start token. */
async function linkToken(h: Harness, who: Account): Promise<string> {
  const res = await h.post("/api/v1/me/telegram/link", {}, { token: who.token });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json();
  assert.deepEqual(Object.keys(body).sort(), ["deep_link", "expires_in"]);
  assert.equal(body.expires_in, 300);
  const token = new URL(body.deep_link).searchParams.get("start");
  assert.ok(token, body.deep_link);
  return token;
}

Deno.test("contacts - pressing Start in a Telegram link links that account; it then signs in by Telegram", async () => {
  await using t = await startTelegramHarness();
  const { h, tg } = t;
  const ada = await account(h, "+14155550130");
  const events = recordEvents(h);
  const token = await linkToken(h, ada);
  assert.equal(tg.messages.length, 0, "nothing is sent before Start");

  await t.say(`/start ${token}`);
  const reply = tg.messages.findLast((m) => m.chat_id === PERSON.id)!;
  assert.match(reply.text, /now linked to your/);
  assert.doesNotMatch(reply.text, /<code>/, "no code: the link is the proof");
  assert.equal((await me(h, ada)).telegram_id, String(PERSON.id));
  const changed = events.find((e) => e.type === "user.contact_changed")!;
  assert.deepEqual(
    { user_id: changed.user_id, contact: changed.contact, old: changed.old, new: changed.new },
    { user_id: ada.id, contact: "telegram", old: null, new: "50000•••0001" },
  );

  // The link is used up.
  await t.say(`/start ${token}`);
  assert.match(tg.messages.findLast((m) => m.chat_id === PERSON.id)!.text, /expired/);

  // A deep-link sign-in from that Telegram account is Ada.
  const res = await h.post("/api/v1/auth/otp/request", { channel: "telegram" });
  const signInToken = new URL((await res.json()).deep_link).searchParams.get("start")!;
  const requestId = (await h.ctx.kv.get<string>(keys.telegramStart(signInToken))).value!;
  await t.say(`/start ${signInToken}`);
  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id: requestId,
    code: t.lastCode()!,
  });
  assert.equal(verified.status, 200);
  assert.equal((await verified.json()).user.id, ada.id);

  // Telegram is now a way in: the phone can go, then Telegram is the last.
  assert.equal((await removeContact(h, ada, "phone")).status, 204);
  const last = await removeContact(h, ada, "telegram");
  assert.equal(last.status, 409);
  assert.equal((await errorOf(last)).reason, "last_contact");
});

Deno.test("contacts - a Telegram account of another user: the chat is told, and nothing changes", async () => {
  await using t = await startTelegramHarness();
  const { h, tg } = t;
  const ada = await account(h, "+14155550131");
  const bob = await account(h, "+14155550132");
  await t.say(`/start ${await linkToken(h, bob)}`);
  assert.equal((await me(h, bob)).telegram_id, String(PERSON.id));

  const events = recordEvents(h);
  await t.say(`/start ${await linkToken(h, ada)}`);
  const reply = tg.messages.findLast((m) => m.chat_id === PERSON.id)!;
  assert.match(reply.text, /already linked to another/);
  assert.equal((await me(h, ada)).telegram_id, null);
  assert.equal((await me(h, bob)).telegram_id, String(PERSON.id));
  assert.equal(events.filter((e) => e.type === "user.contact_changed").length, 0);
});

Deno.test("contacts - a Telegram link request verifies with no code and signs no one in", async () => {
  await using t = await startTelegramHarness();
  const { h } = t;
  const ada = await account(h, "+14155550133");
  const token = await linkToken(h, ada);
  const requestId = (await h.ctx.kv.get<string>(keys.telegramStart(token))).value!;
  const signIn = await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code: "123456" });
  assert.equal(signIn.status, 400);
  assert.equal((await errorOf(signIn)).code, "INVALID_CODE");
  const contact = await h.post("/api/v1/me/contact/verify", {
    request_id: requestId,
    code: "123456",
  }, { token: ada.token });
  assert.equal(contact.status, 400);
  assert.equal((await errorOf(contact)).code, "INVALID_CODE");
});
