/**
 * The user page in Chromium: an admin finds a user in the list, opens their page, sees each
 * sign-in with its device, ends one and then all (their tokens stop working at once),
 * suspends the user until a date, and the users list keeps its filter and search across a
 * reload. Both pages are photographed at 1440 and 390 px, light and dark, into
 * tests/artifacts/ (`user_*.png`, `users_*.png`).
 *
 * `.ci/run` installs Chromium, and there (CI=true) this test must run. On a machine without
 * /usr/bin/chromium it is reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import type { Harness } from "../helpers.ts";
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

const CLIENT = "+14155550142";
const MAC =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/** Signs `phone` in from a device that sends `userAgent`; the verify answer. */
async function signInFrom(h: Harness, phone: string, userAgent: string) {
  const { requestId, code } = await h.requestCode(phone);
  const res = await h.app.request("/api/v1/auth/otp/verify", {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": userAgent },
    body: JSON.stringify({ request_id: requestId, code }),
  }, { remoteAddr: { transport: "tcp", hostname: "203.0.113.7", port: 50000 } });
  assert.equal(res.status, 200);
  return await res.json() as { access_token: string; user: { id: string } };
}

/** The status of `GET /api/v1/me` with an access token. */
async function meStatus(h: Harness, token: string): Promise<number> {
  const res = await h.get("/api/v1/me", { token });
  await res.body?.cancel();
  return res.status;
}

browserTest(
  "user page in Chromium - sign-ins with devices, end one and all, suspend until, list state",
  async ({ context, page, startDashboard }) => {
    const { h, base, signIn } = await startDashboard();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    await signIn(page);

    // A client signs in twice, from a Mac and from an iPhone; a second user exists too.
    const mac = await signInFrom(h, CLIENT, MAC);
    const iphone = await signInFrom(h, CLIENT, IPHONE);
    assert.equal(mac.user.id, iphone.user.id);
    const id = mac.user.id;
    await h.signIn("+14155550143");

    // The list says how many users there are; the client's row links to their page.
    await page.goto(`${base}/admin/users`);
    await page.waitForSelector(LIVE);
    assert.equal(await text(page, "[data-testid=users-total]"), "3 users");
    const export_ = page.locator("[data-testid=export-users]");
    assert.equal(await export_.getAttribute("href"), "/api/v1/admin/users.csv");
    await page.locator(`tr[data-user="${id}"] a.who`).click();
    await page.waitForURL(`${base}/admin/users/${id}`);
    await page.waitForSelector(LIVE);

    // Breadcrumb, nav, identity, presence.
    assert.equal(await text(page, "h1"), CLIENT);
    assert.equal(await text(page, ".crumbs a"), "Users");
    assert.equal(
      await page.locator('.topbar nav a[aria-current="page"]').textContent(),
      "Users",
    );
    assert.equal(await text(page, "[data-testid=user-id]"), id);
    assert.equal(await text(page, "[data-testid=presence]"), "online");
    await page.getByRole("button", { name: "Copy the user id" }).click();
    await page.locator(".id-row [role=status]", { hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), id);

    // Both sign-ins, newest first, each with its device (the whole header in the tooltip).
    const rows = page.locator("tr[data-session]");
    assert.equal(await rows.count(), 2);
    const devices = await page.locator("[data-testid=device]").allTextContents();
    assert.deepEqual(devices, ["Safari 18 on iPhone", "Chrome 131 on macOS"]);
    assert.equal(
      await page.locator("[data-testid=device]").first().getAttribute("title"),
      IPHONE,
    );
    assert.match(await text(page, ".table-note"), /lag by up to a minute/);
    await page.locator("[data-testid=user-events] .feed-otp-verified").first().waitFor();

    await photograph(
      page,
      "user",
      () => page.goto(`${base}/admin/users/${id}`),
      "[data-testid=sign-ins]",
    );
    await page.goto(`${base}/admin/users/${id}`);
    await page.waitForSelector(LIVE);

    // End the iPhone's sign-in: confirmed first; its token stops, the Mac's works on.
    await page.getByRole("button", { name: "End the sign-in on Safari 18 on iPhone" }).click();
    const dialog = page.getByRole("dialog", { name: "End this sign-in?" });
    await dialog.waitFor();
    await screenshot(page, `${ARTIFACTS}/user_end_dialog.png`, false);
    await dialog.getByRole("button", { name: "End sign-in" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.waitForFunction(() => document.querySelectorAll("tr[data-session]").length === 1);
    assert.equal(await text(page, "[data-testid=device]"), "Chrome 131 on macOS");
    assert.equal(await meStatus(h, iphone.access_token), 401);
    assert.equal(await meStatus(h, mac.access_token), 200);
    // The page heard its own change on the event stream: the event is listed.
    await page.locator("[data-testid=user-events] .feed-user-sessions_revoke").first()
      .waitFor();

    // End all: the list empties, both tokens are refused.
    await page.click("[data-testid=end-all]");
    const all = page.getByRole("dialog", { name: `End all sign-ins of ${CLIENT}?` });
    await all.getByRole("button", { name: "End all" }).click();
    await page.locator("[data-testid=no-sign-ins]").waitFor();
    assert.equal(await rows.count(), 0);
    assert.equal(await meStatus(h, iphone.access_token), 401);
    assert.equal(await meStatus(h, mac.access_token), 401);
    await page.locator("[data-testid=presence]", { hasText: "offline" }).waitFor();

    // Suspend for 7 days: the end is asked for in the dialog, and shown with the status.
    await page.getByRole("button", { name: "Suspend", exact: true }).click();
    const suspend = page.getByRole("dialog", { name: `Suspend ${CLIENT}?` });
    await suspend.getByRole("button", { name: "7 days" }).click();
    await screenshot(page, `${ARTIFACTS}/user_suspend_dialog.png`, false);
    await suspend.getByRole("button", { name: "Suspend" }).click();
    await suspend.waitFor({ state: "hidden" });
    await page.locator("[data-testid=status-line]", { hasText: /^suspended until / })
      .waitFor();
    await screenshot(page, `${ARTIFACTS}/user_suspended.png`);
    const { user } = await adminGet(h, page, `/api/v1/admin/users/${id}`);
    assert.equal(user.status, "suspended");
    const days = (Date.parse(user.suspended_until) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `ends in ${days} days`);
    assert.ok(await page.getByRole("button", { name: "Reactivate" }).isVisible());

    // An admin cannot suspend, ban or demote themself.
    const { users: [self] } = await adminGet(h, page, `/api/v1/admin/users?q=${ADMIN}`);
    await page.goto(`${base}/admin/users/${self.id}`);
    await page.locator("text=This is you").waitFor();
    for (const name of ["Suspend", "Ban", "Remove admin"]) {
      assert.equal(await page.getByRole("button", { name, exact: true }).count(), 0, name);
    }

    // An unknown user: a 404 page in the frame, with the way back (in a tab of its own:
    // Chromium logs every 404 as a console error).
    const lost = await context.newPage();
    const missing = await lost.goto(`${base}/admin/users/usr_01M7YRRT8000SF59MQA2HP4QA7`);
    assert.equal(missing?.status(), 404);
    await lost.locator("[data-testid=page-error] a", { hasText: "Back to Users" }).waitFor();
    assert.equal(await lost.locator("h1").innerText(), "No such user");
    await lost.close();

    // The list: the suspended user can be banned from the row.
    await page.goto(`${base}/admin/users`);
    const row = page.locator(`tr[data-user="${id}"]`);
    assert.match(await row.locator("td[data-label=Account]").innerText(), /suspended\s+until/);
    await row.getByRole("button", { name: "Ban" }).click();
    await row.getByRole("button", { name: "Yes" }).click();
    await row.locator("[data-testid=account-status]", { hasText: "banned" }).waitFor();

    // Filter and search live in the URL: a reload shows the same list.
    await page.click("[data-testid=filter-offline]");
    await page.waitForURL(`${base}/admin/users?status=offline`);
    await page.fill("input[type=search]", "14155550142");
    await page.click(".search button[type=submit]");
    await page.waitForURL(/status=offline&q=14155550142$/);
    await page.waitForFunction(() => document.querySelectorAll("tr[data-user]").length === 1);
    await page.reload();
    await page.waitForSelector(LIVE);
    assert.equal(
      await page.locator("[data-testid=filter-offline]").getAttribute("aria-pressed"),
      "true",
    );
    assert.equal(await page.inputValue("input[type=search]"), "14155550142");
    assert.equal(await page.locator("tr[data-user]").count(), 1);
    assert.equal(await page.locator(`tr[data-user="${id}"]`).count(), 1);
    // A cursor that no list gave out shows the first page, not an error.
    const garbage = await page.goto(`${base}/admin/users?cursor=AAAAnotacursor`);
    assert.equal(garbage?.status(), 200);
    assert.equal(await page.locator("tr[data-user]").count(), 3);

    await photograph(page, "users", () => page.goto(`${base}/admin/users`), LIVE);
  },
  // Event streams cut short as a page is left.
  { ignoreErrors: /events|EventSource/i },
);
