import assert from "node:assert/strict";
import { createDoormanClient, type DoormanClient, DoormanError } from "../../client/mod.ts";
import { type Harness, serveHarness, startHarness } from "../helpers.ts";

/*
 * The client SDK's account and session calls against a real Doorman served on loopback: each
 * method reaches its route and resolves to the server's answer, or rejects with the answer's
 * DoormanError (reason included).
 */

async function signIn(client: DoormanClient, h: Harness, phone: string) {
  const requested = await client.requestCode({ phone });
  return await client.verifyCode({ requestId: requested.request_id, code: h.sms.lastCode(phone)! });
}

async function rejection(promise: Promise<unknown>): Promise<DoormanError> {
  const error = await promise.then(() => null, (e) => e);
  assert.ok(error instanceof DoormanError, `expected a DoormanError, got ${error}`);
  return error;
}

Deno.test("client account - adds an email with a code, drops the phone, and keeps the last contact", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const client = createDoormanClient({ baseUrl: server.url });
  await signIn(client, h, "+14155550140");

  const requested = await client.account.requestContactCode({ email: "Ada@Example.com" });
  assert.equal(requested.channel, "email");
  const code = h.email.lastCode("ada@example.com");
  assert.ok(code, "the code went to the new address");
  const user = await client.account.verifyContactCode({ requestId: requested.request_id, code });
  assert.equal(user.email, "ada@example.com");
  assert.equal(user.phone, "+14155550140");

  await client.account.removeContact("phone");
  assert.equal((await client.me()).phone, null);
  const last = await rejection(client.account.removeContact("email"));
  assert.equal(last.status, 409);
  assert.equal(last.code, "CONFLICT");
  assert.equal(last.reason, "last_contact");
  assert.equal((await client.me()).email, "ada@example.com");
});

Deno.test("client account - presence visibility and presence contacts", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const client = createDoormanClient({ baseUrl: server.url });
  const other = (await h.signIn("+14155550142")).user.id;
  await signIn(client, h, "+14155550141");

  assert.equal((await client.me()).presence_visibility, "everyone");
  const user = await client.account.setPresenceVisibility("contacts");
  assert.equal(user.presence_visibility, "contacts");
  assert.deepEqual(await client.account.setPresenceContacts([other, other]), [other]);
  assert.deepEqual(await client.account.presenceContacts(), [other]);
  const bad = await rejection(client.account.setPresenceContacts(["not an id"]));
  assert.equal(bad.code, "VALIDATION_FAILED");
  assert.ok(bad.details.length > 0);
});

Deno.test("client sessions - lists sign-ins, ends one, ends the others", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const client = createDoormanClient({ baseUrl: server.url });
  const elsewhere = await h.signIn("+14155550143");
  h.clock.advance(61_000); // the resend cooldown
  await signIn(client, h, "+14155550143");
  h.clock.advance(61_000);
  await h.signIn("+14155550143");

  const listed = await client.sessions.list();
  assert.equal(listed.length, 3);
  assert.equal(listed.filter((s) => s.current).length, 1);
  assert.ok(listed[1].current, "newest first: this client signed in second of three");
  const first = listed.find((s) => !s.current)!;
  await client.sessions.end(first.id);
  assert.equal((await client.sessions.list()).length, 2);
  const unknown = await rejection(client.sessions.end(first.id));
  assert.equal(unknown.status, 404);

  await client.sessions.endOthers();
  const left = await client.sessions.list();
  assert.deepEqual(left.map((s) => s.current), [true]);
  const gone = await h.get("/api/v1/me", { token: elsewhere.access_token });
  assert.equal(gone.status, 401);
});

Deno.test("client account - export, then delete: needs a fresh code, then signs out", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const signOuts: (DoormanError | null)[] = [];
  const client = createDoormanClient({
    baseUrl: server.url,
    onSignOut: (error) => signOuts.push(error),
  });
  const { user } = await signIn(client, h, "+14155550144");

  const exported = await client.account.export();
  assert.equal(exported.user.id, user.id);
  assert.equal(exported.sessions.length, 1);
  assert.deepEqual(exported.presence, { visibility: "everyone", contacts: [] });
  assert.ok(Array.isArray(exported.events));

  h.clock.advance(11 * 60_000);
  await client.refresh(); // a refresh does not make the sign-in fresh
  const stale = await rejection(client.account.delete());
  assert.equal(stale.status, 403);
  assert.equal(stale.code, "REAUTH_REQUIRED");
  assert.equal(signOuts.length, 0);

  await signIn(client, h, "+14155550144");
  await client.account.delete();
  assert.equal(await client.session(), null);
  assert.deepEqual(signOuts, [null]);
  const detail = await h.get(`/api/v1/presence?user_ids=${user.id}`, {
    token: (await h.signIn("+14155550145")).access_token,
  });
  assert.deepEqual((await detail.json()).users, [
    { user_id: user.id, status: "offline", last_seen: null },
  ]);
});
