/**
 * The overview in a real browser: the period is chosen by toggles and kept in the URL, the
 * sign-in funnel and the recent activity move by themselves while test clients sign in by SMS
 * and by email, the channel cards tell a failing SMS gateway and its recovery, and the page is
 * photographed at 1440 and 390 px, light and dark, over an hour and over 24 hours.
 *
 * On a machine without /usr/bin/chromium it is reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { Harness } from "../helpers.ts";
import { adminGet, ARTIFACTS, browserTest, LIVE, photograph, text } from "./browser.ts";

/** Waits until the element with this test id says `value`. */
async function until(page: Page, testid: string, value: string): Promise<void> {
  await page.waitForFunction(
    ([id, want]) => document.querySelector(`[data-testid="${id}"]`)?.textContent === want,
    [testid, value],
    { timeout: 5000 },
  );
}

/** Signs `email` in with the code the fake email gateway received; returns the user id. */
async function signInByEmail(h: Harness, email: string): Promise<string> {
  const requested = await h.post("/api/v1/auth/otp/request", { email });
  assert.equal(requested.status, 202);
  const { request_id } = await requested.json();
  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id,
    code: h.email.lastCode(email),
  });
  assert.equal(verified.status, 200);
  return (await verified.json()).user.id;
}

const NEW_YORK = {
  timeZone: "America/New_York",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
} as const;

/** The x-axis labels the chart shows. */
async function axisLabels(page: Page): Promise<string[]> {
  return await page.locator(".ov-x text").allTextContents();
}

browserTest(
  "overview in Chromium - periods in the URL, live funnel and activity, channel cards",
  async ({ page, startDashboard }) => {
    const { h, base, signIn } = await startDashboard();
    await signIn(page);
    await page.waitForSelector(LIVE);

    // The last hour by default: tiles say so, the chart has a bar per minute, labelled every
    // ten minutes of the browser's clock.
    assert.equal(
      await page.locator("[data-testid=range-1h]").getAttribute("aria-pressed"),
      "true",
    );
    assert.equal(await text(page, "[data-testid=tile-verified-period]"), "last hour");
    assert.equal(await page.locator("[data-testid=chart]").getAttribute("data-buckets"), "60");
    const minutes = await axisLabels(page);
    assert.ok(minutes.length >= 5, `labels every 10 minutes: ${minutes}`);
    for (const label of minutes) assert.match(label, /^\d\d:\d0$/);
    assert.match(await text(page, "[data-testid=chart-summary]"), /^Last hour, per minute: /);

    // The admin's own sign-in went by email; SMS has had none; Telegram is not set up.
    assert.equal(await text(page, "[data-testid=funnel-email-verified]"), "1");
    assert.match(await text(page, "[data-testid=funnel-sms-none]"), /^No codes by SMS/);
    assert.match(await text(page, "[data-testid=funnel-telegram-none]"), /^Not configured/);
    assert.equal(await text(page, "[data-testid=channel-telegram-state]"), "Not configured");
    assert.equal(await text(page, "[data-testid=channel-email-provider]"), "Email · webhook");
    assert.match(await text(page, "[data-testid=channel-email-success]"), /(just now|s ago) ·/);
    assert.equal(await text(page, "[data-testid=channel-sms-success]"), "never");

    // The SMS gateway fails: its card says so, with the gateway's error, by itself.
    h.sms.mode = { kind: "status", status: 500 };
    const failed = await h.post("/api/v1/auth/otp/request", { phone: "+14155550120" });
    assert.equal(failed.status, 503);
    await failed.body?.cancel();
    await until(page, "channel-sms-state", "Failing");
    const smsError = await text(page, "[data-testid=channel-sms-error]");
    assert.match(smsError, /500/);

    // It recovers, and a client signs in by SMS: the card and the funnel move by themselves.
    h.sms.mode = { kind: "ok" };
    await h.signIn("+14155550121");
    await until(page, "channel-sms-state", "Working");
    await until(page, "funnel-sms-verified", "1");
    assert.equal(await text(page, "[data-testid=channel-sms-provider]"), "SMS · webhook");
    assert.match(await text(page, "[data-testid=channel-sms-success]"), /(just now|s ago) ·/);
    assert.equal(await text(page, "[data-testid=channel-sms-error]"), smsError, "kept");
    // A code asked for and never used widens the gap between requested and verified.
    await h.requestCode("+14155550122");
    const { funnel } = await adminGet(h, page, "/api/v1/admin/stats");
    assert.ok(funnel.sms.requested >= 3 && funnel.sms.verified === 1);
    await until(page, "funnel-sms-requested", String(funnel.sms.requested));
    await until(page, "funnel-sms-sent", String(funnel.sms.sent));
    const share = Math.round((1 / funnel.sms.requested) * 100);
    assert.match(
      await text(page, "[data-testid=funnel-sms]"),
      new RegExp(`${share} % signed in`),
    );

    // Someone signs in by email: the funnel rises, and the sign-in slides into the activity.
    const grace = await signInByEmail(h, "grace@example.com");
    await until(page, "funnel-email-verified", "2");
    const signedIn = page.locator(
      "[data-testid=recent-activity] .activity-new[data-type='otp.verified']",
      { hasText: "g•••@example.com" },
    );
    await signedIn.waitFor({ timeout: 5000 });
    assert.match(
      await signedIn.textContent() ?? "",
      /Signed in as a new user with a code by email/,
    );
    const link = signedIn.locator("a.user-link");
    assert.equal(await link.getAttribute("href"), `/admin/users/${grace}`);
    const items = page.locator("[data-testid=recent-activity] .activity-item");
    assert.ok(await items.count() <= 12);
    const newest = await items.evaluateAll((list) =>
      list.slice(0, 4).map((li) => li.getAttribute("data-type"))
    );
    assert.ok(newest.includes("otp.verified"), `near the top: ${newest}`);
    assert.equal(
      await page.getByRole("link", { name: "All events →" }).getAttribute("href"),
      "/admin/events",
    );
    await photograph(page, "overview", () => page.goto(`${base}/admin`), LIVE);

    // 24 hours: the URL says so, the tiles name it, the chart has hourly buckets.
    await page.goto(`${base}/admin`);
    await page.waitForSelector(LIVE);
    await page.click("[data-testid=range-24h]");
    await page.waitForURL(`${base}/admin?range=24h`);
    await until(page, "tile-verified-period", "last 24 h");
    assert.equal(await page.locator("[data-testid=chart]").getAttribute("data-buckets"), "24");
    const hours = await axisLabels(page);
    assert.ok(hours.length >= 7, `labels every 3 hours: ${hours}`);
    for (const label of hours) {
      const [, hour, minute] = label.match(/^(\d\d):(\d\d)$/) ?? [];
      assert.ok(hour && Number(hour) % 3 === 0 && minute === "00", `an hour label: ${label}`);
    }
    // The labels are New York's clock, not the server's UTC.
    const stats24 = await adminGet(h, page, "/api/v1/admin/stats?range=24h");
    const newYork = (stats24.series as { at: string }[])
      .map((p) => new Date(p.at).toLocaleTimeString("en-GB", NEW_YORK))
      .filter((label) => Number(label.slice(0, 2)) % 3 === 0);
    assert.deepEqual(hours, newYork);
    assert.equal(await text(page, "[data-testid=tile-verified]"), String(stats24.otp.verified));
    assert.match(await text(page, "[data-testid=chart-summary]"), /^Last 24 h, per hour: /);

    // A reload keeps the period: the server renders it from the URL.
    await page.reload();
    await page.waitForSelector(LIVE);
    assert.equal(
      await page.locator("[data-testid=range-24h]").getAttribute("aria-pressed"),
      "true",
    );
    assert.equal(await text(page, "[data-testid=tile-sent-period]"), "last 24 h");
    assert.equal(await page.locator("[data-testid=chart]").getAttribute("data-buckets"), "24");

    // A week: a label at each local midnight.
    await page.click("[data-testid=range-7d]");
    await page.waitForURL(`${base}/admin?range=7d`);
    await until(page, "tile-verified-period", "last 7 days");
    assert.equal(await page.locator("[data-testid=chart]").getAttribute("data-buckets"), "168");
    const days = await axisLabels(page);
    assert.ok(days.length >= 6 && days.length <= 7, `a label a day: ${days}`);
    for (const label of days) assert.match(label, /^\S+ \d{1,2}$/);
    await page.screenshot({ path: `${ARTIFACTS}/overview_7d.png`, fullPage: true });

    // Back to the hour: the plain URL.
    await page.click("[data-testid=range-1h]");
    await page.waitForURL(`${base}/admin`);
    await until(page, "tile-verified-period", "last hour");

    // A period the page does not know shows the last hour, not an error.
    const odd = await page.goto(`${base}/admin?range=1y`);
    assert.equal(odd?.status(), 200);
    await page.waitForSelector(LIVE);
    assert.equal(
      await page.locator("[data-testid=range-1h]").getAttribute("aria-pressed"),
      "true",
    );
    assert.equal(await page.locator("[data-testid=chart]").getAttribute("data-buckets"), "60");

    await photograph(page, "overview_24h", () => page.goto(`${base}/admin?range=24h`), LIVE);
  },
  {
    // A zone far from UTC, so the axis must be the browser's own clock.
    timezoneId: NEW_YORK.timeZone,
    // Event streams cut short as a page is left.
    ignoreErrors: /events|ERR_FAILED|EventSource/i,
  },
);
