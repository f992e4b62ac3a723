import assert from "node:assert/strict";
import { errorOf, recordEvents, startHarness } from "../helpers.ts";
import { account, me, removeContact, requestContact, verifyContact } from "./helpers.ts";

const ADA = "+14155550110";

Deno.test("contacts - removing: the last way to sign in is refused, another is removed, a missing one is 404", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);

  const last = await removeContact(h, ada, "phone");
  assert.equal(last.status, 409);
  assert.match(last.headers.get("content-type") ?? "", /application\/json/);
  const error = await errorOf(last);
  assert.equal(error.code, "CONFLICT");
  assert.equal(error.reason, "last_contact");
  assert.equal((await me(h, ada)).phone, ADA);

  const missing = await removeContact(h, ada, "email");
  assert.equal(missing.status, 404);
  assert.equal((await errorOf(missing)).code, "NOT_FOUND");
  const noTelegram = await removeContact(h, ada, "telegram");
  assert.equal(noTelegram.status, 404);

  const { requestId, code } = await requestContact(h, ada, { email: "ada@example.com" });
  assert.equal((await verifyContact(h, ada, requestId, code)).status, 200);
  const events = recordEvents(h);
  const removed = await removeContact(h, ada, "phone");
  assert.equal(removed.status, 204);
  assert.equal(await removed.text(), "");
  const user = await me(h, ada);
  assert.equal(user.phone, null);
  assert.equal(user.email, "ada@example.com");
  const changed = events.find((e) => e.type === "user.contact_changed")!;
  assert.deepEqual(
    { contact: changed.contact, old: changed.old, new: changed.new },
    { contact: "phone", old: "+1415•••0110", new: null },
  );
  // The number is free: signing in with it makes a new user.
  h.clock.advance(61_000);
  assert.notEqual((await h.signIn(ADA)).user.id, ada.id);
  // And the email is now the last way in.
  const lastEmail = await removeContact(h, ada, "email");
  assert.equal(lastEmail.status, 409);
  assert.equal((await errorOf(lastEmail)).reason, "last_contact");
});

Deno.test("contacts - two parallel removes of the last two contacts: exactly one lands", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const { requestId, code } = await requestContact(h, ada, { email: "ada@example.com" });
  assert.equal((await verifyContact(h, ada, requestId, code)).status, 200);

  const [phone, email] = await Promise.all([
    removeContact(h, ada, "phone"),
    removeContact(h, ada, "email"),
  ]);
  const statuses = [phone.status, email.status].sort();
  assert.deepEqual(statuses, [204, 409]);
  await phone.body?.cancel();
  await email.body?.cancel();
  const user = await me(h, ada);
  assert.equal([user.phone, user.email].filter((c) => c !== null).length, 1, "one contact left");
});

Deno.test("contacts - unknown contact kinds are 404, no token is 401", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const res = await removeContact(h, ada, "fax");
  assert.equal(res.status, 404);
  assert.equal((await errorOf(res)).code, "NOT_FOUND");
  const anonymous = await h.app.request("/api/v1/me/contact/phone", { method: "DELETE" });
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  for (const path of ["/api/v1/me/contact/request", "/api/v1/me/contact/verify"]) {
    const res = await h.post(path, {});
    assert.equal(res.status, 401, path);
    await res.body?.cancel();
  }
});
