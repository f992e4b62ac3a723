import assert from "node:assert/strict";
import { startHarness } from "../helpers.ts";
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
