/**
 * The audit page and the settings page in a real browser, with two admins: one keeps the
 * audit log open while the other suspends a user, changes a setting and resets it; each change
 * appears there by itself, naming who made it. The settings page says which values are
 * overridden and shows the boot configuration without a secret. Both pages are photographed
 * at 1440 and 390 px, light and dark, into tests/artifacts/.
 *
 * `.ci/run` installs Chromium, and there (CI=true) this test must run. On a machine without
 * /usr/bin/chromium it is reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import { TEST_SECRET } from "../helpers.ts";
import { ADMIN, adminGet, browserTest, LIVE, photograph, text } from "./browser.ts";

/** The second admin, who watches the audit log. */
const WATCHER = "lead@example.com";
/** An admin who works through the API (a Bearer token), for the entries made in bulk. */
const API_ADMIN = "+14155550000";

browserTest(
  "audit and settings in Chromium - changes appear live naming the admin; overrides reset",
  async ({ page: actor, newPage, startDashboard }) => {
    const { h, base, signIn } = await startDashboard({
      ADMIN_EMAILS: `${ADMIN},${WATCHER}`,
      ADMIN_PHONES: API_ADMIN,
    });
    const watcher = await newPage();
    await signIn(actor);
    await signIn(watcher, WATCHER);
    const found = await adminGet(h, actor, `/api/v1/admin/users?q=${encodeURIComponent(ADMIN)}`);
    const actorUser = found.users[0];

    // The watcher opens the audit log: nothing yet, live, times in their zone.
    await watcher.goto(`${base}/admin/audit`);
    await watcher.waitForSelector(LIVE);
    assert.match(await text(watcher, "[data-testid=audit]"), /Nothing yet/);
    assert.match(await text(watcher, "[data-testid=zone-note]"), /^Local time\(GMT\+[12]\)$/);
    assert.equal(
      await watcher.locator('nav a[aria-current="page"]').textContent(),
      "Audit",
    );

    // The other admin suspends a signed-in user from the users list.
    const client = await h.signIn("+14155550100");
    await actor.goto(`${base}/admin/users`);
    const row = actor.locator(`tr[data-user="${client.user.id}"]`);
    await row.getByRole("button", { name: "Suspend" }).click();
    await row.getByRole("button", { name: "Yes" }).click();
    await row.locator("[data-testid=account-status]", { hasText: "suspended" }).waitFor();

    // It appears on the watcher's page by itself, naming who did it and what changed.
    const suspended = watcher.locator('tr[data-action="user.update"]');
    await suspended.waitFor({ timeout: 5000 });
    const who = suspended.locator("[data-testid=audit-actor]");
    assert.match((await who.textContent())!, new RegExp(`^${ADMIN}`));
    assert.equal(await who.locator("a.user-link").getAttribute("title"), actorUser.id);
    assert.match(await suspended.textContent() ?? "", /Suspended/);
    assert.match(await suspended.textContent() ?? "", /\+14155550100/);
    assert.equal(
      await suspended.locator(`.c-target a.user-link`).getAttribute("href"),
      `/admin/users/${client.user.id}`,
    );
    assert.match(
      (await suspended.locator("[data-testid=audit-changes]").textContent())!,
      /status: active → suspended/,
    );
    assert.match(await suspended.locator("td.c-ip").textContent() ?? "", /\d/);

    // Settings: every value says where it comes from.
    await actor.goto(`${base}/admin/settings`);
    const origin = actor.locator("[data-testid=origin-otp_length]");
    assert.equal(await origin.textContent(), "default 6 digits");
    assert.equal(await actor.locator("[data-testid=reset-otp_length]").count(), 0);
    await actor.fill("#otp_length", "8");
    await actor.click("form.settings button[type=submit]");
    await actor.locator("text=Saved. The new values are in force.").waitFor();
    assert.equal(await origin.textContent(), "overridden, default 6 digits");
    const changed = watcher.locator('tr[data-action="settings.update"]');
    await changed.first().waitFor({ timeout: 5000 });
    assert.match(await changed.first().textContent() ?? "", /Changed settings/);
    assert.match(await changed.first().textContent() ?? "", /otp_length: 6 → 8/);
    assert.match(await changed.first().textContent() ?? "", new RegExp(ADMIN));

    // The boot configuration: providers by name, never a secret.
    await actor.reload();
    assert.equal(await origin.textContent(), "overridden, default 6 digits");
    assert.equal(await text(actor, "[data-testid=boot-email]"), "webhook");
    const html = await actor.content();
    for (const secret of [TEST_SECRET, "sms-hook-secret", "email-hook-secret"]) {
      assert.ok(!html.includes(secret), "no secret on the settings page");
    }
    await photograph(
      actor,
      "settings",
      () => actor.goto(`${base}/admin/settings`),
      "[data-testid=reset-otp_length]",
    );

    // Reset: the default is back in the form and on the server, and the reset is audited.
    await actor.goto(`${base}/admin/settings`);
    await actor.click("[data-testid=reset-otp_length]");
    await actor.locator("text=Code length is back to its default.").waitFor();
    assert.equal(await actor.inputValue("#otp_length"), "6");
    assert.equal(await actor.evaluate(() => document.activeElement?.id), "otp_length");
    assert.equal(await origin.textContent(), "default 6 digits");
    assert.equal(await actor.locator("[data-testid=reset-otp_length]").count(), 0);
    assert.equal((await adminGet(h, actor, "/api/v1/admin/settings")).otp_length, 6);
    const { settings } = await adminGet(h, actor, "/api/v1/admin/config");
    assert.equal(settings.otp_length.overridden, false);
    await changed.nth(1).waitFor({ timeout: 5000 });
    assert.match(await changed.first().textContent() ?? "", /otp_length: 8 → 6/);

    // Another admin, through the API, ends a user's two sign-ins and lifts a range's block.
    const api = await h.signIn(API_ADMIN);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await h.app.request(path, {
        method,
        headers: {
          authorization: `Bearer ${api.access_token}`,
          ...(body ? { "content-type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      assert.ok(res.ok, `${method} ${path}: ${res.status}`);
      await res.body?.cancel();
    };
    const twice = await h.signIn("+14155550101");
    await h.signIn("+14155550101");
    await call("DELETE", `/api/v1/admin/users/${twice.user.id}/sessions`);
    for (let i = 0; i <= 10; i++) {
      const res = await h.post("/api/v1/auth/otp/request", {
        phone: `+16465550${100 + i}`,
        channel: "sms",
      }, { ip: "198.51.100.20" });
      await res.body?.cancel();
    }
    await call("DELETE", "/api/v1/admin/fraud/prefixes/%2B1646");
    await watcher.locator('tr[data-action="fraud.prefix_unblock"]').waitFor({ timeout: 5000 });
    const ended = watcher.locator('tr[data-action="user.sessions_revoke"]');
    assert.match(await ended.textContent() ?? "", /Ended \d sign-ins?/);
    assert.match(await ended.textContent() ?? "", new RegExp(`\\${API_ADMIN}`));
    assert.match(
      await text(watcher, 'tr[data-action="fraud.prefix_unblock"]'),
      /Lifted block.*\+1646.*status: blocked → lifted/,
    );
    await photograph(
      watcher,
      "audit",
      () => watcher.goto(`${base}/admin/audit`),
      "tr[data-audit]",
    );

    // Events: admin changes name the admin; the log exports as CSV.
    await watcher.goto(`${base}/admin/events`);
    const updated = watcher.locator(".feed-user-updated").first();
    await updated.waitFor();
    assert.equal(await updated.locator(".by a.user-link").getAttribute("title"), actorUser.id);
    assert.match(
      await text(watcher, ".feed-user-signed_out .feed-text"),
      /Sign-in ended by an admin/,
    );
    assert.equal(
      await watcher.locator("[data-testid=export-csv]").getAttribute("href"),
      "/api/v1/admin/events.csv",
    );

    // More than a page of changes: "Load older" appends and keeps its place in the URL.
    // (And more than the 100 events the events page shows at first.)
    for (let i = 0; i < 70; i++) {
      await call("PUT", "/api/v1/admin/settings", { otp_ttl_seconds: 200 + i });
    }
    await watcher.goto(`${base}/admin/audit`);
    assert.equal(await watcher.locator("tr[data-audit]").count(), 50);
    await watcher.click("[data-testid=load-more]");
    await watcher.waitForURL(/\?cursor=/);
    await watcher.waitForFunction(() => document.querySelectorAll("tr[data-audit]").length > 50);
    await watcher.reload();
    await watcher.locator("text=Showing older changes.").waitFor();
    await watcher.getByRole("button", { name: "Back to newest" }).click();
    await watcher.waitForURL(`${base}/admin/audit`);
    await watcher.waitForFunction(() => document.querySelectorAll("tr[data-audit]").length === 50);

    // The events page pages back too, below its oldest event.
    await watcher.goto(`${base}/admin/events`);
    const oldest = await watcher.locator("[data-testid=feed] li").count();
    assert.equal(oldest, 100);
    await watcher.click("[data-testid=load-older]");
    await watcher.waitForURL(/\/admin\/events\?before=/);
    await watcher.locator("text=Showing older events.").waitFor();
    assert.ok(await watcher.locator("[data-testid=feed] li.feed-item").count() > 0);
    const older = watcher.url();
    await photograph(watcher, "events_older", () => watcher.goto(older), LIVE);
  },
);
