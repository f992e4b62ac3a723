/**
 * The API reference at /docs in a real browser: Debian's Chromium driven by playwright-core.
 * Swagger UI renders every operation under the pages' strict CSP with nothing fetched from
 * another origin, "Try it out" calls this server (with a Bearer token where one is needed),
 * and a phone-sized screen does not scroll sideways. Screenshots go to tests/artifacts/.
 *
 * `.ci/run` installs Chromium, and there (CI=true) this test must run. On a machine without
 * /usr/bin/chromium it is reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { serveHarness, startHarness } from "../helpers.ts";
import { ARTIFACTS, hasChromium, launch, screenshot } from "./browser.ts";

/** Records console errors, uncaught errors, CSP violations and requests leaving `origin`. */
async function watch(page: Page, origin: string): Promise<string[]> {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error}`));
  page.on("console", (message) => {
    if (message.type() === "error" || message.text().startsWith("CSP violation")) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith("data:")) {
      problems.push(`request to another origin: ${url}`);
    }
  });
  await page.addInitScript(() =>
    document.addEventListener(
      "securitypolicyviolation",
      (e) => console.log(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`),
    )
  );
  return problems;
}

/** The operation block of `method path`, expanded. */
async function openOperation(page: Page, method: string, path: string) {
  const op = page.locator(`.opblock-${method}`).filter({
    has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
  });
  await op.locator(".opblock-summary").click();
  await op.locator(".execute").waitFor();
  return op;
}

/** Presses Execute in an expanded operation; resolves to the status and body it got. */
async function execute(op: ReturnType<Page["locator"]>): Promise<{ status: string; body: string }> {
  await op.locator(".execute").click();
  const row = op.locator(".live-responses-table .response").first();
  await row.waitFor();
  return {
    status: (await row.locator(".response-col_status").textContent())?.trim() ?? "",
    body: (await row.locator(".response-col_description pre").first().textContent()) ?? "",
  };
}

Deno.test({
  name: "API reference in Chromium - renders under the strict CSP, tries calls, fits a phone",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await using h = await startHarness();
    await using server = serveHarness(h);
    const base = server.url;
    const user = await h.signIn("+14155550100");
    const doc = await (await h.get("/api/v1/openapi.json")).json();
    const operations = Object.values(doc.paths as Record<string, object>)
      .reduce((n, methods) => n + Object.keys(methods).length, 0);
    const browser = await launch();
    try {
      const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } }))
        .newPage();
      const problems = await watch(page, base);
      await page.goto(`${base}/docs`);
      await page.locator(".opblock").first().waitFor();
      assert.equal(await page.locator(".opblock").count(), operations, "every operation");
      // The error table from the description, rendered.
      await page.locator(".info table td code", { hasText: "RECIPIENT_NOT_ALLOWED" }).waitFor();
      assert.equal(await page.locator(".reference-bar a[href='/admin']").count(), 2);
      await screenshot(page, `${ARTIFACTS}/docs.png`);

      // Try it out, without a token: readiness.
      const health = await openOperation(page, "get", "/api/v1/health");
      const ready = await execute(health);
      assert.equal(ready.status, "200");
      assert.equal(JSON.parse(ready.body).kv, "ok");

      // The request examples: the Email one, sent from the page, asks for a code.
      const request = await openOperation(page, "post", "/api/v1/auth/otp/request");
      await request.locator(".examples-select select").selectOption({ label: "Email" });
      assert.match(await request.locator("textarea.body-param__text").inputValue(), /ada@/);
      const requested = await execute(request);
      assert.equal(requested.status, "202");
      assert.equal(JSON.parse(requested.body).channel, "email");
      await request.screenshot({ path: `${ARTIFACTS}/docs_try.png` });

      // With the Bearer token given to Authorize, /me answers the signed-in user.
      await page.locator(".auth-wrapper .btn.authorize").click();
      // The user's scheme, named `bearer` (the API keys' scheme is a bearer too).
      const bearer = page.locator(".modal-ux .auth-container").filter({
        has: page.locator("h4 code", { hasText: /^bearer$/ }),
      });
      await bearer.locator("input").fill(user.access_token);
      await bearer.locator(".auth-btn-wrapper .btn.authorize").click();
      await page.locator(".modal-ux .btn-done").first().click();
      const me = await openOperation(page, "get", "/api/v1/me");
      const signedIn = await execute(me);
      assert.equal(signedIn.status, "200");
      assert.equal(JSON.parse(signedIn.body).user.id, user.user.id);

      // Dark follows the OS, as on the dashboard, without a reload.
      await page.emulateMedia({ colorScheme: "dark" });
      await page.locator("html.dark-mode").waitFor({ state: "attached" });
      await page.evaluate(() => scrollTo(0, 0));
      await screenshot(page, `${ARTIFACTS}/docs_dark.png`, false);

      // A phone: nothing wider than the screen, even with every operation open.
      const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 } }))
        .newPage();
      problems.push(...await watch(phone, base));
      await phone.goto(`${base}/docs`);
      await phone.locator(".opblock").first().waitFor();
      const width = () => phone.evaluate(() => document.documentElement.scrollWidth);
      assert.equal(await width(), 390, "no sideways scroll");
      await screenshot(phone, `${ARTIFACTS}/docs_mobile.png`);
      for (const summary of await phone.locator(".opblock-summary").all()) await summary.click();
      await phone.locator(".opblock.is-open").nth(operations - 1).waitFor();
      assert.equal(await width(), 390, "no sideways scroll with every operation open");

      assert.deepEqual(problems, [], "no console errors, CSP violations or foreign requests");
    } finally {
      await browser.close();
    }
  },
});
