/**
 * The user page in Chromium for issue 20's account features: every contact and its changes,
 * who sees the user's presence, and erasing the user (confirmed first; the user is gone from
 * the list and the API). Photographed at 1440 and 390 px, light and dark, into tests/artifacts/
 * (`user_contacts_*.png`, `user_delete_dialog.png`).
 *
 * `.ci/run` installs Chromium, and there (CI=true) this test must run. On a machine without
 * /usr/bin/chromium it is reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import { account, requestContact, verifyContact } from "../account/helpers.ts";
import { ARTIFACTS, browserTest, LIVE, photograph, screenshot, text } from "./browser.ts";

const PHONE = "+14155550160";
const NEW_PHONE = "+14155550161";
const EMAIL = "grace@example.com";

browserTest(
  "user page in Chromium - contacts and their changes, presence visibility, delete the user",
  async ({ page, startDashboard }) => {
    const { h, base, signIn } = await startDashboard();
    await signIn(page);

    // The user adds an email, moves to a new phone and shows their presence to contacts only.
    const who = await account(h, PHONE);
    const email = await requestContact(h, who, { email: EMAIL });
    assert.equal((await verifyContact(h, who, email.requestId, email.code)).status, 200);
    const phone = await requestContact(h, who, { phone: NEW_PHONE });
    assert.equal((await verifyContact(h, who, phone.requestId, phone.code)).status, 200);
    const patched = await h.app.request("/api/v1/me", {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: `Bearer ${who.token}` },
      body: JSON.stringify({ presence_visibility: "contacts" }),
    });
    assert.equal(patched.status, 200);

    await page.goto(`${base}/admin/users/${who.id}`);
    await page.waitForSelector(LIVE);
    assert.equal(await text(page, "[data-testid=phone]"), NEW_PHONE);
    assert.equal(await text(page, "[data-testid=presence-visibility]"), "their presence contacts");
    const changes = await page.locator("[data-testid=contact-changes] li").allTextContents();
    assert.equal(changes.length, 2, JSON.stringify(changes));
    assert.ok(
      changes.some((c) => /Phone changed from \+1415.*0160 to \+1415.*0161/.test(c)),
      JSON.stringify(changes),
    );
    assert.ok(changes.some((c) => /Email .*@example\.com added/.test(c)), JSON.stringify(changes));
    assert.ok(!changes.join(" ").includes(EMAIL), "contacts are masked in the changes");

    await photograph(
      page,
      "user_contacts",
      () => page.goto(`${base}/admin/users/${who.id}`),
      "[data-testid=contact-changes]",
    );
    await page.goto(`${base}/admin/users/${who.id}`);
    await page.waitForSelector(LIVE);

    // Delete: asked first, then the page goes back to the list, where the user is gone.
    await page.click("[data-testid=delete-user]");
    const dialog = page.getByRole("dialog", { name: `Delete ${NEW_PHONE} for good?` });
    await dialog.waitFor();
    await screenshot(page, `${ARTIFACTS}/user_delete_dialog.png`, false);
    await dialog.getByRole("button", { name: "Delete user" }).click();
    await page.waitForURL(`${base}/admin/users`);
    await page.waitForSelector(LIVE);
    assert.equal(await page.locator(`tr[data-user="${who.id}"]`).count(), 0);
    const gone = await h.get("/api/v1/me", { token: who.token });
    assert.equal(gone.status, 401);
    const audit = await page.evaluate(async () =>
      await (await fetch("/api/v1/admin/audit?limit=5")).json()
    );
    assert.equal(audit.entries[0].action, "user.delete");
    assert.equal(audit.entries[0].target, who.id);
  },
  // Event streams cut short as a page is left.
  { ignoreErrors: /events|EventSource/i },
);
