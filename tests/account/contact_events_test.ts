import assert from "node:assert/strict";
import { describe } from "../../components/lib/event_text.ts";
import { startHarness } from "../helpers.ts";
import { adminHarness, dashboardCookie, islandsOf } from "../routes/admin_helpers.ts";
import { startEventReceiver } from "../event_webhooks/receiver.ts";
import { account, requestContact, verifyContact } from "./helpers.ts";

const SECRET = "event-hook-secret-0123456789";

Deno.test("contacts - user.contact_changed, masked, reaches event webhooks and the admin's user detail", async () => {
  // The signature's timestamp is the harness's fake clock: the receiver reads the same one.
  let clock = () => Date.now();
  const receiver = await startEventReceiver(SECRET, { now: () => clock() });
  try {
    await using h = await startHarness({
      env: {
        EVENT_WEBHOOK_URL: receiver.url,
        EVENT_WEBHOOK_SECRET: SECRET,
        ADMIN_PHONES: "+14155550199",
      },
    });
    clock = () => h.clock.now();
    const admin = await account(h, "+14155550199");
    const ada = await account(h, "+14155550140");
    const { requestId, code } = await requestContact(h, ada, { email: "ada.l@example.com" });
    assert.equal((await verifyContact(h, ada, requestId, code)).status, 200);
    await h.ctx.commits.flush();
    await h.ctx.webhooks!.settled();

    const sent = receiver.deliveries.find((d) => d.type === "user.contact_changed");
    assert.ok(sent, "the webhook got the event");
    assert.equal(sent.verified, true);
    assert.deepEqual(
      { ...sent.body.data, at: null },
      {
        at: null,
        user_id: ada.id,
        contact: "email",
        old: null,
        new: "a•••@example.com",
      },
    );
    assert.doesNotMatch(JSON.stringify(sent.body), /ada\.l@/, "never the address in full");

    const res = await h.get(`/api/v1/admin/users/${ada.id}`, { token: admin.token });
    assert.equal(res.status, 200);
    const detail = await res.json();
    assert.equal(detail.user.email, "ada.l@example.com");
    const listed = detail.events.find((e: { data: { type: string } }) =>
      e.data.type === "user.contact_changed"
    );
    assert.equal(listed?.data.new, "a•••@example.com");
  } finally {
    await receiver.close();
  }
});

Deno.test("contacts - the dashboard words contact changes: changed, added, removed, Telegram linked", () => {
  const at = "2026-11-21T10:00:00.000Z";
  const event = (old: string | null, next: string | null, contact = "phone") => ({
    type: "user.contact_changed",
    at,
    user_id: "usr_a",
    contact,
    old,
    new: next,
  });
  assert.equal(
    describe(event("+1415•••0100", "+1415•••0102")),
    "Phone changed from +1415•••0100 to +1415•••0102",
  );
  assert.equal(describe(event(null, "a•••@example.com", "email")), "Email a•••@example.com added");
  assert.equal(describe(event("+1415•••0100", null)), "Phone +1415•••0100 removed");
  assert.equal(
    describe(event(null, "50000•••0001", "telegram")),
    "Telegram account 50000•••0001 added",
  );
});

Deno.test("contacts - the user page shows every contact and the changes, worded", async () => {
  await using h = await adminHarness();
  const ada = await account(h, "+14155550141");
  const { requestId, code } = await requestContact(h, ada, { email: "ada@example.com" });
  assert.equal((await verifyContact(h, ada, requestId, code)).status, 200);
  const cookie = await dashboardCookie(h);
  const res = await h.app.request(`/admin/users/${ada.id}`, { headers: { cookie } });
  assert.equal(res.status, 200);
  const html = await res.text();
  const [island] = islandsOf(html);
  const initial = island.props.initial as { user: Record<string, unknown> };
  assert.equal(initial.user.phone, "+14155550141");
  assert.equal(initial.user.email, "ada@example.com");
  assert.equal(initial.user.telegram_id, null);
  assert.match(html, /Contact changes/);
  assert.match(html, /Email a•••@example\.com added/);
  assert.doesNotMatch(html, /No contact changes/);
});
