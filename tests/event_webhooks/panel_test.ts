/**
 * The "Outbound webhooks" panel of the deliveries page: in Chromium (photographed at 1440 and
 * 390 px, light and dark, nothing scrolling sideways; ignored without /usr/bin/chromium), and
 * as the server renders it when the webhook is off.
 */
import assert from "node:assert/strict";
import { browserTest, LIVE, photograph, text } from "../browser/browser.ts";
import { adminHarness, dashboardCookie } from "../routes/admin_helpers.ts";
import { startEventReceiver } from "./receiver.ts";

const SECRET = "event-hook-secret-0123456789";

browserTest(
  "webhooks panel in Chromium - masked URL, counts, last error and success, kept live",
  async ({ page, startDashboard }) => {
    await using receiver = await startEventReceiver(SECRET);
    // The first try fails: the panel shows an error, and its retry a success, seconds later.
    receiver.script.push(500);
    const { h, base, signIn } = await startDashboard({
      EVENT_WEBHOOK_URL: `${receiver.url}?token=receiver-token`,
      EVENT_WEBHOOK_SECRET: SECRET,
      EVENT_WEBHOOK_TYPES: "otp.verified",
    });
    await signIn(page);
    for (let i = 0; receiver.handled.length === 0 && i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(receiver.handled.length, 1, "the retry within 10 s went through");

    await photograph(page, "webhooks", () => page.goto(`${base}/admin/deliveries`), LIVE);
    await page.locator("[data-testid=webhooks]").scrollIntoViewIfNeeded();
    assert.equal(
      await text(page, "[data-testid=webhook-url]"),
      `${receiver.url}?token=***`,
    );
    assert.match(
      await text(page, "[data-testid=webhook-error]"),
      /answered 500\. Deliveries went/,
    );
    assert.equal(await text(page, "[data-testid=webhook-delivered]"), "1");

    // Another sign-in: its event goes out and the panel counts it without a reload.
    await h.signIn("+14155550100");
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=webhook-delivered]")?.textContent === "2"
    );
  },
);

Deno.test("webhooks panel - without EVENT_WEBHOOK_URL the deliveries page says it is off", async () => {
  await using h = await adminHarness();
  const cookie = await dashboardCookie(h);
  const res = await h.app.request("/admin/deliveries", { headers: { cookie } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<h2 id="webhooks-title">Outbound webhooks<\/h2>/);
  assert.match(html, /Off\. Set <span class="mono">EVENT_WEBHOOK_URL<\/span>/);
});
