import assert from "node:assert/strict";
import { callJson } from "../../bench/doorman_process.ts";
import { startInstances } from "./instances.ts";

const ADA = "+14155550150";
const NEW_PHONE = "+14155550151";
const EMAIL = "ada@example.com";

/*
 * Two real `main.ts` processes on one KV file: a burst of verifies of one contact code spread
 * over both changes the contact once, and parallel removes of the last two contacts on the two
 * instances cannot both land.
 */
Deno.test("instances - a contact code verified at once on two processes changes the contact once; parallel removes leave a contact", async () => {
  await using instances = await startInstances("contacts");
  const { sms, servers } = instances;
  const [a, b] = servers;
  const token = (await instances.signIn(ADA, { verify: b })).access_token;

  const contact = await callJson(`${a.url}/api/v1/me/contact/request`, {
    method: "POST",
    body: { phone: NEW_PHONE },
    token,
  });
  assert.equal(contact.status, 202, contact.text);
  const code = sms.lastCode(NEW_PHONE);
  const answers = await Promise.all(
    Array.from(
      { length: 16 },
      (_, i) =>
        callJson(`${servers[i % 2].url}/api/v1/me/contact/verify`, {
          method: "POST",
          body: { request_id: contact.body!.request_id, code },
          token,
        }),
    ),
  );
  const statuses = answers.map((answer) => answer.status);
  assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses: ${statuses}`);
  assert.equal(statuses.filter((s) => s === 400).length, 15, `statuses: ${statuses}`);
  const notices = sms.messages.filter((m) => m.to === ADA && /was changed/.test(m.text));
  assert.equal(notices.length, 1, "the old number is told once");

  // Add an email too, then remove phone and email at once, one on each instance.
  const emailAsk = await callJson(`${b.url}/api/v1/me/contact/request`, {
    method: "POST",
    body: { email: EMAIL },
    token,
  });
  assert.equal(emailAsk.status, 202, emailAsk.text);
  const emailed = await callJson(`${a.url}/api/v1/me/contact/verify`, {
    method: "POST",
    body: { request_id: emailAsk.body!.request_id, code: sms.lastCode(EMAIL) },
    token,
  });
  assert.equal(emailed.status, 200, emailed.text);
  const removes = await Promise.all([
    fetch(`${a.url}/api/v1/me/contact/phone`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    }),
    fetch(`${b.url}/api/v1/me/contact/email`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    }),
  ]);
  const removed = removes.map((res) => res.status).sort();
  await Promise.all(removes.map((res) => res.body?.cancel()));
  assert.deepEqual(removed, [204, 409]);
  // Both instances read the user as it is within a second.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  for (const server of servers) {
    const me = await callJson(`${server.url}/api/v1/me`, { method: "GET", token });
    const user = me.body!.user as { phone: string | null; email: string | null };
    assert.equal([user.phone, user.email].filter((c) => c !== null).length, 1, server.name);
  }
});
