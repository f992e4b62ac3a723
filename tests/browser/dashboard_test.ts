/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core. An admin signs
 * in through the page with a code, and the pages update by themselves while test clients
 * heartbeat and another admin session suspends a user; the delivery log filters through its
 * URL, and a number range blocked for SMS pumping is listed and lifted. Every page is
 * photographed at 1440 and 390 px, light and dark, into tests/artifacts/, and none scrolls
 * sideways on a phone.
 *
 * `.ci/run` installs Chromium, and there (CI=true) this test must run. On a machine without
 * /usr/bin/chromium it is reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import {
  ADMIN,
  adminGet,
  ARTIFACTS,
  browserTest,
  LIVE,
  photograph,
  screenshot,
  text,
} from "./browser.ts";

/** The dashboard's pages, by the name of their screenshots, and what shows they are ready. */
const PAGES = [
  ["overview", "/admin", LIVE],
  ["users", "/admin/users", LIVE],
  ["events", "/admin/events", LIVE],
  ["deliveries", "/admin/deliveries", LIVE],
  ["fraud_empty", "/admin/fraud", LIVE],
  ["settings", "/admin/settings", "form.settings"],
] as const;

/** The `i`th phone of a US number range (`+1646` → `+1646555 01xx`). */
function phoneIn(range: string, i: number): string {
  return `${range}55501${String(i).padStart(2, "0")}`;
}

browserTest(
  "dashboard in Chromium - sign in, watch it update live, act, edit a setting",
  async ({ browser, page, startDashboard }) => {
    const { h, base, signIn } = await startDashboard({ SMS_DAILY_LIMIT: "40" });
    // The sign-in page is plain HTML.
    await page.goto(`${base}/admin/login`);
    await signIn(page);

    // Overview: hydrated, live, counting the admin who just signed in.
    await page.waitForSelector(LIVE);
    assert.equal(await text(page, "[data-testid=tile-online]"), "1");
    assert.equal(await text(page, "[data-testid=tile-users]"), "1");

    // A test client signs in and heartbeats: the tile moves without a reload.
    const client = await h.signIn("+14155550100");
    const beat = await h.post("/api/v1/presence/heartbeat", {}, { token: client.access_token });
    assert.equal(beat.status, 200);
    await beat.body?.cancel();
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=tile-online]")?.textContent === "2"
    );
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=tile-verified]")?.textContent === "2"
    );

    // Users: the client is listed online.
    await page.goto(`${base}/admin/users`);
    const row = page.locator(`tr[data-user="${client.user.id}"]`);
    await row.waitFor();
    assert.equal(await row.locator("[data-testid=presence]").textContent(), "online");

    // A second user comes online while the page is open: the list grows by itself.
    const second = await h.signIn("+14155550101");
    await page.locator(`tr[data-user="${second.user.id}"]`).waitFor({ timeout: 5000 });

    // Another admin session suspends the client; this page shows it at once.
    const other = await (await browser.newContext()).newPage();
    await signIn(other);
    await other.goto(`${base}/admin/users`);
    const otherRow = other.locator(`tr[data-user="${client.user.id}"]`);
    await otherRow.getByRole("button", { name: "Suspend" }).click();
    await otherRow.getByRole("button", { name: "Yes" }).click();
    await otherRow.locator("[data-testid=account-status]", { hasText: "suspended" }).waitFor();
    await row.locator("[data-testid=account-status]", { hasText: "suspended" }).waitFor();
    await row.locator("[data-testid=presence]", { hasText: "offline" }).waitFor();
    const refused = await h.post("/api/v1/presence/heartbeat", {}, {
      token: client.access_token,
    });
    assert.equal(refused.status, 403);
    await refused.body?.cancel();

    // Filter: only online users.
    await page.click("[data-testid=filter-online]");
    await row.waitFor({ state: "detached" });

    // Events: the feed shows what happened, and new events arrive live.
    await page.goto(`${base}/admin/events`);
    await page.locator(".feed-user-updated").first().waitFor();
    await h.signIn("+14155550102");
    const verified = page.locator(".feed-otp-verified", { hasText: "+1415•••0102" });
    await verified.waitFor();
    // Times are the browser's (Paris is never UTC), said so, with UTC in the tooltip.
    assert.match(await text(page, "[data-testid=zone-note]"), /^Local time\(GMT\+[12]\)$/);
    const time = verified.locator("time");
    const utc = (await time.getAttribute("datetime"))!;
    assert.notEqual(await time.textContent(), utc.slice(11, 19));
    assert.match((await time.getAttribute("title"))!, /UTC$/);
    // The recipient and the user it became, linked by a shortened id.
    const link = verified.locator("a.user-link");
    const userId = (await link.getAttribute("title"))!;
    assert.match(userId, /^usr_/);
    assert.equal(await link.getAttribute("href"), `/admin/users/${userId}`);
    assert.ok((await link.textContent())!.length < userId.length);
    // Kinds are toggles: off hides them, and says so without colour.
    const presence = page.locator("[data-testid=kind-presence]");
    assert.equal(await presence.getAttribute("aria-pressed"), "true");
    await presence.click();
    assert.equal(await presence.getAttribute("aria-pressed"), "false");
    await page.locator(".feed-presence-online").first().waitFor({ state: "detached" });
    await presence.click();
    await page.locator(".feed-presence-online").first().waitFor();

    // Settings: the browser refuses an inconsistent value, the server takes a good one.
    await page.goto(`${base}/admin/settings`);
    await page.fill("#heartbeat_interval_seconds", "500");
    await page.click("form.settings button[type=submit]");
    await page.locator(".field-error #heartbeat_interval_seconds").waitFor({ timeout: 3000 });
    await page.fill("#heartbeat_interval_seconds", "30");
    await page.fill("#otp_length", "8");
    await page.click("form.settings button[type=submit]");
    await page.locator("text=Saved. The new values are in force.").waitFor();
    const { code } = await h.requestCode("+14155550103");
    assert.equal(code.length, 8, "the new code length is in force without a restart");

    // Fraud: nothing blocked yet, and the page says what would block a range.
    await page.goto(`${base}/admin/fraud`);
    await page.waitForSelector(LIVE);
    await page.locator("[data-testid=no-blocks]", { hasText: "at least 10 SMS" }).waitFor();
    // Ten SMS to one range, none of their codes used: the eleventh is refused and the range
    // blocked; the open page lists it by itself.
    for (let i = 0; i <= 10; i++) {
      const res = await h.post("/api/v1/auth/otp/request", {
        phone: phoneIn("+1646", i),
        channel: "sms",
      }, { ip: "198.51.100.20" });
      assert.equal(res.status, i < 10 ? 202 : 403, `SMS ${i + 1} to +1646`);
      await res.body?.cancel();
    }
    const blocked = page.locator('tr[data-prefix="+1646"]');
    await blocked.waitFor({ timeout: 5000 });
    assert.match(await blocked.textContent() ?? "", /10 \/ 0/);
    const { sms_today } = await adminGet(h, page, "/api/v1/admin/fraud");
    assert.ok(sms_today >= 10);
    assert.equal(await text(page, "[data-testid=sms-today]"), String(sms_today));
    await photograph(page, "fraud", () => page.goto(`${base}/admin/fraud`), "tr[data-prefix]");
    // Lift it: a confirmation first, then the row goes.
    await page.goto(`${base}/admin/fraud`);
    await blocked.getByRole("button", { name: "Lift the block of +1646" }).click();
    const dialog = page.getByRole("dialog", { name: "Lift the block of +1646?" });
    await dialog.waitFor();
    await screenshot(page, `${ARTIFACTS}/fraud_lift_dialog.png`, false);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await blocked.getByRole("button", { name: "Lift the block of +1646" }).click();
    await dialog.getByRole("button", { name: "Lift block" }).click();
    await blocked.waitFor({ state: "detached" });
    await page.locator("[data-testid=no-blocks]").waitFor();
    await page.waitForFunction(() =>
      document.activeElement?.textContent?.startsWith("Blocked number ranges")
    );
    const fraud = await adminGet(h, page, "/api/v1/admin/fraud");
    assert.deepEqual(fraud.blocked_prefixes, [], "lifted on the server too");

    // Deliveries: filter by status through toggles; the URL keeps it across a reload.
    await page.goto(`${base}/admin/deliveries`);
    await page.waitForSelector(LIVE);
    await page.locator("tr[data-delivery]").first().waitFor();
    await page.click("[data-testid=status-refused]");
    await page.waitForURL(/\/admin\/deliveries\?status=refused$/);
    await page.waitForFunction(() =>
      [...document.querySelectorAll("[data-testid=delivery-status]")]
        .every((s) => s.textContent === "Refused")
    );
    assert.equal(await page.locator("tr[data-delivery]").count(), 1);
    await page.reload();
    assert.equal(
      await page.locator("[data-testid=status-refused]").getAttribute("aria-pressed"),
      "true",
    );
    assert.equal(await page.locator("tr[data-delivery]").count(), 1);
    await screenshot(page, `${ARTIFACTS}/deliveries_refused.png`, false);
    // By keyboard: Tab to a toggle (a focus ring shows), Space presses it.
    let onToggle = false;
    for (let i = 0; i < 30 && !onToggle; i++) {
      await page.keyboard.press("Tab");
      onToggle = await page.evaluate(() =>
        document.activeElement?.getAttribute("data-testid") === "status-all"
      );
    }
    assert.ok(onToggle, "the status toggles are reachable by Tab");
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(ring, "none", "a focused toggle shows a focus ring");
    await page.keyboard.press("Space");
    await page.waitForURL(`${base}/admin/deliveries`);
    await page.waitForFunction(() => document.querySelectorAll("tr[data-delivery]").length > 1);
    // Live: a new code appears at the top by itself.
    const rows = await page.locator("tr[data-delivery]").count();
    await h.requestCode("+14155550105");
    await page.waitForFunction(
      (n) => document.querySelectorAll("tr[data-delivery]").length === n + 1,
      rows,
    );
    assert.match(await text(page, "tr[data-delivery]"), /\+1415•••0105/);
    // More than a page: "Load more" appends and records where it went in the URL.
    for (let i = 0; i < 45; i++) {
      const res = await h.post("/api/v1/auth/otp/request", { email: `load${i}@example.com` }, {
        ip: `198.51.100.${100 + Math.floor(i / 20)}`,
      });
      assert.equal(res.status, 202);
      await res.body?.cancel();
    }
    await page.reload();
    assert.equal(await page.locator("tr[data-delivery]").count(), 50);
    await page.click("[data-testid=load-more]");
    await page.waitForURL(/\?cursor=/);
    assert.ok(await page.locator("tr[data-delivery]").count() > 50);
    await page.reload();
    await page.getByRole("button", { name: "Back to newest" }).click();
    await page.waitForURL(`${base}/admin/deliveries`);

    // Every page at 1440 and 390 px, light and dark; none scrolls sideways on a phone.
    for (const [name, path, ready] of PAGES) {
      await photograph(page, name, () => page.goto(`${base}${path}`), ready);
    }
    const stranger = await (await browser.newContext()).newPage();
    await photograph(stranger, "login", () => stranger.goto(`${base}/admin/login`));
    await photograph(stranger, "login_code", async () => {
      await stranger.goto(`${base}/admin/login`);
      await stranger.fill("#recipient", ADMIN);
      await stranger.click("button[type=submit]");
      await stranger.waitForSelector("#code");
    });

    // Without the event stream the overview falls back to polling every 10 s.
    await page.goto(`${base}/admin`);
    await page.route("**/api/v1/admin/events", (route) => route.abort());
    await page.reload();
    await page.waitForSelector("[data-testid=live-badge].badge-polling");
    const before = Number(await text(page, "[data-testid=tile-users]"));
    await h.signIn("+14155550104");
    await page.waitForFunction(
      (n) => Number(document.querySelector("[data-testid=tile-users]")?.textContent) === n,
      before + 1,
      { timeout: 15_000 },
    );
  },
  // The event stream the test cuts.
  { ignoreErrors: /events|ERR_FAILED|EventSource/i },
);
