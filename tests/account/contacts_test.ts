import assert from "node:assert/strict";
import { errorOf, recordEvents, startHarness } from "../helpers.ts";
import { account, me, requestContact, verifyContact } from "./helpers.ts";

const ADA = "+14155550100";
const BOB = "+14155550101";
const NEW_PHONE = "+14155550102";

Deno.test("contacts - a phone user links an email with a code, and signing in by that email is the same user", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const { requestId, code, body } = await requestContact(h, ada, { email: "Ada@Example.com" });
  assert.deepEqual(Object.keys(body).sort(), [
    "channel",
    "expires_in",
    "request_id",
    "resend_after",
  ]);
  assert.equal(body.channel, "email");
  assert.match(requestId, /^otp_/);

  const res = await verifyContact(h, ada, requestId, code);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const { user } = await res.json();
  assert.equal(user.id, ada.id);
  assert.equal(user.phone, ADA);
  assert.equal(user.email, "ada@example.com");
  assert.equal((await me(h, ada)).email, "ada@example.com");

  h.clock.advance(61_000);
  const signIn = await h.post("/api/v1/auth/otp/request", { email: "ada@example.com" });
  assert.equal(signIn.status, 202);
  const emailCode = h.email.lastCode("ada@example.com")!;
  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id: (await signIn.json()).request_id,
    code: emailCode,
  });
  assert.equal(verified.status, 200);
  assert.equal((await verified.json()).user.id, ada.id, "one account, not a second user");
});

Deno.test("contacts - changing the phone moves it; the old number gets the notice in the request's language", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const events = recordEvents(h);
  const { requestId, code } = await requestContact(h, ada, { phone: NEW_PHONE }, {
    locale: "es",
  });
  const res = await verifyContact(h, ada, requestId, code);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal((await res.json()).user.phone, NEW_PHONE);

  const notice = h.sms.messages.findLast((m) => m.to === ADA)!;
  assert.ok(notice, "the replaced number was told");
  assert.match(notice.text, /número de teléfono de tu cuenta/);
  assert.match(notice.text, /\+1415•••0102/, "the new number, masked");
  assert.doesNotMatch(notice.text, /14155550102/, "never the new number in full");

  const changed = events.filter((e) => e.type === "user.contact_changed");
  assert.equal(changed.length, 1);
  assert.deepEqual(
    {
      user_id: changed[0].user_id,
      contact: changed[0].contact,
      old: changed[0].old,
      new: changed[0].new,
    },
    { user_id: ada.id, contact: "phone", old: "+1415•••0100", new: "+1415•••0102" },
  );

  // The new number signs in to Ada's account; the old one is free again: a new user.
  h.clock.advance(61_000);
  assert.equal((await h.signIn(NEW_PHONE)).user.id, ada.id);
  assert.notEqual((await h.signIn(ADA)).user.id, ada.id);
});

Deno.test("contacts - an SMS notice counts under the day's SMS budget, and is not sent past it", async () => {
  for (const budget of [3, 2]) {
    // Ada's sign-in and the new number's code take two; the notice to the old number a third.
    await using h = await startHarness({
      env: { SMS_DAILY_LIMIT: String(budget), ADMIN_EMAILS: "ops@example.com" },
    });
    const ada = await account(h, ADA);
    const moved = await requestContact(h, ada, { phone: NEW_PHONE });
    assert.equal((await verifyContact(h, ada, moved.requestId, moved.code)).status, 200);
    const told = h.sms.messages.filter((m) => m.to === ADA).length === 2;
    assert.equal(told, budget === 3, `budget ${budget}: the old number told or not`);

    const asked = await h.post("/api/v1/auth/otp/request", { email: "ops@example.com" });
    const admin = await h.post("/api/v1/auth/otp/verify", {
      request_id: (await asked.json()).request_id,
      code: h.email.lastCode("ops@example.com"),
    });
    const token = (await admin.json()).access_token;
    const fraud = await (await h.get("/api/v1/admin/fraud", { token })).json();
    assert.equal(fraud.sms_today, budget, "the notice counted like a code, or was not sent");
    if (budget === 2) {
      assert.ok(
        h.log.lines.some((l) => /contact change notice not sent/.test(l) && /budget/.test(l)),
      );
    }
  }
});

Deno.test("contacts - a contact already on the account is 409 already_linked, and nothing is sent", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const before = h.sms.messages.length;
  const res = await h.post("/api/v1/me/contact/request", { phone: "+1 (415) 555-0100" }, {
    token: ada.token,
  });
  assert.equal(res.status, 409);
  const error = await errorOf(res);
  assert.equal(error.code, "CONFLICT");
  assert.equal(error.reason, "already_linked");
  assert.equal(h.sms.messages.length, before);
});

Deno.test("contacts - another account's contact: the same 202, then 409 contact_in_use at verify, nothing changes", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const bob = await account(h, BOB);
  // Past the resend cooldown of Bob's sign-in.
  h.clock.advance(61_000);
  const free = await requestContact(h, ada, { phone: NEW_PHONE });
  const taken = await requestContact(h, ada, { phone: BOB }, { ip: "203.0.113.8" });
  assert.deepEqual(Object.keys(taken.body).sort(), Object.keys(free.body).sort());
  assert.deepEqual(
    { ...taken.body, request_id: null },
    { ...free.body, request_id: null },
    "the answer does not tell that the phone is taken",
  );

  const res = await verifyContact(h, ada, taken.requestId, taken.code);
  assert.equal(res.status, 409);
  const error = await errorOf(res);
  assert.equal(error.code, "CONFLICT");
  assert.equal(error.reason, "contact_in_use");
  assert.equal((await me(h, ada)).phone, ADA);
  assert.equal((await me(h, bob)).phone, BOB);
  h.clock.advance(61_000);
  assert.equal((await h.signIn(BOB)).user.id, bob.id, "Bob's number still signs Bob in");
  assert.equal((await h.signIn(ADA)).user.id, ada.id);
  assert.ok(!h.sms.messages.some((m) => m.to === ADA && /changed/.test(m.text)), "no notice");
});

Deno.test("contacts - a code of another user's request, or of a sign-in, is INVALID_CODE and spends nothing", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const bob = await account(h, BOB);
  const adas = await requestContact(h, ada, { phone: NEW_PHONE });

  // Bob, with the right code of Ada's request.
  const stolen = await verifyContact(h, bob, adas.requestId, adas.code);
  assert.equal(stolen.status, 400);
  assert.equal((await errorOf(stolen)).code, "INVALID_CODE");
  // A contact request never signs anyone in.
  const signIn = await h.post("/api/v1/auth/otp/verify", {
    request_id: adas.requestId,
    code: adas.code,
  });
  assert.equal(signIn.status, 400);
  assert.equal((await errorOf(signIn)).code, "INVALID_CODE");
  // A sign-in request is no contact request.
  const signInCode = await h.requestCode("+14155550103");
  const asContact = await verifyContact(h, ada, signInCode.requestId, signInCode.code);
  assert.equal(asContact.status, 400);
  assert.equal((await errorOf(asContact)).code, "INVALID_CODE");

  // None of that spent an attempt or the code: both still work for their owners.
  const own = await verifyContact(h, ada, adas.requestId, adas.code);
  assert.equal(own.status, 200);
  assert.equal((await own.json()).user.phone, NEW_PHONE);
  assert.equal((await me(h, bob)).phone, BOB);
  const signedIn = await h.post("/api/v1/auth/otp/verify", {
    request_id: signInCode.requestId,
    code: signInCode.code,
  });
  assert.equal(signedIn.status, 200);
});

Deno.test("contacts - wrong codes spend attempts like sign-in codes; the code is single use", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const { requestId, code } = await requestContact(h, ada, { email: "ada@example.com" });
  const wrong = code === "000000" ? "111111" : "000000";
  const first = await verifyContact(h, ada, requestId, wrong);
  assert.equal(first.status, 400);
  assert.equal((await errorOf(first)).attempts_left, 4);
  assert.equal((await verifyContact(h, ada, requestId, code)).status, 200);
  const again = await verifyContact(h, ada, requestId, code);
  assert.equal(again.status, 400);
  assert.equal((await errorOf(again)).code, "INVALID_CODE");
});

Deno.test("contacts - a burst of parallel verifies of one code changes the contact once", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const events = recordEvents(h);
  const { requestId, code } = await requestContact(h, ada, { phone: NEW_PHONE });
  const answers = await Promise.all(
    Array.from({ length: 12 }, () => verifyContact(h, ada, requestId, code)),
  );
  const statuses = answers.map((res) => res.status);
  await Promise.all(answers.map((res) => res.body?.cancel()));
  assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses: ${statuses}`);
  assert.equal(statuses.filter((s) => s === 400).length, 11, `statuses: ${statuses}`);
  assert.equal(events.filter((e) => e.type === "user.contact_changed").length, 1);
  assert.equal(h.sms.messages.filter((m) => m.to === ADA && /changed/.test(m.text)).length, 1);
  assert.equal((await me(h, ada)).phone, NEW_PHONE);
});

Deno.test("contacts - contact requests share the recipient's sign-in limits: cooldown and 5 an hour", async () => {
  await using h = await startHarness();
  const ada = await account(h, ADA);
  const ask = (ip: string) =>
    h.post("/api/v1/me/contact/request", { phone: NEW_PHONE }, { token: ada.token, ip });
  // Someone asked for a sign-in code for the number a moment ago.
  assert.equal((await h.post("/api/v1/auth/otp/request", { phone: NEW_PHONE })).status, 202);
  const cooling = await ask("203.0.113.20");
  assert.equal(cooling.status, 429);
  const error = await errorOf(cooling);
  assert.equal(error.code, "RATE_LIMITED");
  assert.ok(Number(cooling.headers.get("retry-after")) > 0);
  for (let i = 0; i < 4; i++) {
    h.clock.advance(61_000);
    const res = await ask(`203.0.113.${30 + i}`);
    assert.equal(res.status, 202, `request ${i + 2} of the hour`);
    await res.body?.cancel();
  }
  h.clock.advance(61_000);
  const sixth = await ask("203.0.113.40");
  assert.equal(sixth.status, 429, "the sixth code of the hour for one number");
  assert.equal((await errorOf(sixth)).code, "RATE_LIMITED");
});
