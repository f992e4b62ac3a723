/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core. An admin signs
 * in through the page with a code, and the pages update by themselves while test clients
 * heartbeat and another admin session suspends a user. Screenshots go to tests/artifacts/.
 *
 * `.ci/run` installs Chromium, and there (CI=true) this test must run. On a machine without
 * /usr/bin/chromium it is reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { systemClock } from "../../core/clock.ts";
import { buildIslands } from "../../web/build.ts";
import { loadAssets, PROJECT_ROOT } from "../../web/assets.ts";
import { serveHarness, startHarness } from "../helpers.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARTIFACTS = `${PROJECT_ROOT}/tests/artifacts`;
const ADMIN = "ops@example.com";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!hasChromium && Deno.env.get("CI")) {
  throw new Error(`Browser tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);
}

async function launch(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

async function signInThroughPage(page: Page, base: string, lastCode: () => string | undefined) {
  await page.goto(`${base}/admin`);
  await page.waitForURL(/\/admin\/login/);
  await page.fill("#recipient", ADMIN);
  await page.click("button[type=submit]");
  await page.waitForSelector("#code");
  await page.fill("#code", lastCode()!);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/admin`);
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent())?.trim() ?? "";
}

Deno.test({
  name: "dashboard in Chromium - sign in, watch it update live, act, edit a setting",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Built into a temporary directory: a `deno task dev` running beside the tests keeps its own.
    const buildDir = await Deno.makeTempDir({ prefix: "doorman-islands-" });
    await buildIslands({ minify: true, outDir: buildDir });
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await using h = await startHarness({
      env: { ADMIN_EMAILS: ADMIN, OTP_RESEND_COOLDOWN_SECONDS: "0" },
      clock: systemClock,
      assets: await loadAssets({ buildDir }),
    });
    await using server = serveHarness(h);
    const base = server.url;
    const browser = await launch();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });

      // The sign-in page is plain HTML.
      await page.goto(`${base}/admin/login`);
      await page.screenshot({ path: `${ARTIFACTS}/login.png` });
      await signInThroughPage(page, base, () => h.email.lastCode(ADMIN));

      // Overview: hydrated, live, counting the admin who just signed in.
      await page.waitForSelector("[data-testid=live-badge].badge-live");
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
      await page.screenshot({ path: `${ARTIFACTS}/overview.png`, fullPage: true });

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
      await signInThroughPage(other, base, () => h.email.lastCode(ADMIN));
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
      await page.screenshot({ path: `${ARTIFACTS}/users.png`, fullPage: true });

      // Filter: only online users.
      await page.click("[data-testid=filter-online]");
      await row.waitFor({ state: "detached" });

      // Events: the feed shows what happened, and new events arrive live.
      await page.goto(`${base}/admin/events`);
      await page.locator(".feed-user-updated").first().waitFor();
      await h.signIn("+14155550102");
      await page.locator(".feed-otp-verified", { hasText: "+1415•••0102" }).waitFor();
      await page.screenshot({ path: `${ARTIFACTS}/events.png`, fullPage: true });

      // Settings: the browser refuses an inconsistent value, the server takes a good one.
      await page.goto(`${base}/admin/settings`);
      await page.fill("#heartbeat_interval_seconds", "500");
      await page.click("form.settings button[type=submit]");
      await page.locator(".field-error #heartbeat_interval_seconds").waitFor({ timeout: 3000 });
      await page.fill("#heartbeat_interval_seconds", "30");
      await page.fill("#otp_length", "8");
      await page.click("form.settings button[type=submit]");
      await page.locator("text=Saved. The new values are in force.").waitFor();
      await page.screenshot({ path: `${ARTIFACTS}/settings.png`, fullPage: true });
      const { code } = await h.requestCode("+14155550103");
      assert.equal(code.length, 8, "the new code length is in force without a restart");

      // Back on the overview, the stream still delivers.
      await page.goto(`${base}/admin`);
      await page.waitForSelector("[data-testid=live-badge].badge-live");
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: `${ARTIFACTS}/overview_mobile.png`, fullPage: true });
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.emulateMedia({ colorScheme: "dark" });
      await page.screenshot({ path: `${ARTIFACTS}/overview_dark.png`, fullPage: true });

      // Without the event stream the overview falls back to polling every 10 s.
      await page.emulateMedia({ colorScheme: "light" });
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

      const unexpected = errors.filter((e) => !/events|ERR_FAILED|EventSource/i.test(e));
      assert.deepEqual(unexpected, [], "no errors in the browser console");
    } finally {
      await browser.close();
    }
  },
});
