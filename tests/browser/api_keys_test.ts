/**
 * The API keys page in Chromium: an admin creates a key (the secret shown once, and it works
 * against the admin API), sees it listed by prefix, and revokes it after confirming; the key
 * is refused at once.
 */
import assert from "node:assert/strict";
import { browserTest, text } from "./browser.ts";

browserTest(
  "api keys in Chromium - create shows the secret once, it works, revoke refuses it",
  async ({ page, startDashboard }) => {
    const { h, base, signIn } = await startDashboard();
    await signIn(page);
    await page.goto(`${base}/admin/api-keys`);
    assert.match(await text(page, "[data-testid=no-keys]"), /No API key yet/);

    await page.fill("#key-name", "billing worker");
    await page.check('input[name=scopes][value="users:read"]');
    await page.click("[data-testid=create-key] button[type=submit]");
    const secret = (await page.locator("[data-testid=secret]").textContent())!;
    assert.match(secret, /^dk_[A-Za-z0-9_-]{43}$/);
    assert.equal(await text(page, "[data-testid=key-count]"), "1");
    const row = page.locator("[data-testid=api-keys] tbody tr");
    assert.match((await row.textContent())!, /billing worker/);
    assert.match((await row.textContent())!, new RegExp(secret.slice(0, 11)));
    assert.ok(!(await row.textContent())!.includes(secret.slice(11)));

    const used = await h.app.request("/api/v1/admin/users", {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(used.status, 200);
    await used.body?.cancel();

    // Reloaded, the secret is gone for good.
    await page.reload();
    assert.equal(await page.locator("[data-testid=secret]").count(), 0);
    await page.getByRole("button", { name: "Revoke the key billing worker" }).click();
    await page.getByRole("button", { name: "Revoke key" }).click();
    await page.locator("[data-testid=no-keys]").waitFor();
    const refused = await h.app.request("/api/v1/admin/users", {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  },
);
