/**
 * What the browser tests share: Debian's Chromium driven by playwright-core, an admin signed in
 * through the login page, a dashboard served with freshly built islands, and photographs of a
 * page at 1440 and 390 px, light and dark, that fail when anything scrolls sideways;
 * `browserTest` runs a test with all that and fails it on any error a page logs.
 *
 * `.ci/run` installs Chromium, and there (CI=true) these tests must run. On a machine without
 * /usr/bin/chromium they are reported as ignored, never as passed.
 */
import assert from "node:assert/strict";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { systemClock } from "../../core/clock.ts";
import { buildIslands } from "../../web/build.ts";
import { loadAssets, PROJECT_ROOT } from "../../web/assets.ts";
import { type Harness, serveHarness, startHarness } from "../helpers.ts";

export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
export const ARTIFACTS = `${PROJECT_ROOT}/tests/artifacts`;
export const ADMIN = "ops@example.com";
export const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!hasChromium && Deno.env.get("CI")) {
  throw new Error(`Browser tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);
}

export async function launch(): Promise<Browser> {
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

export async function signInThroughPage(
  page: Page,
  base: string,
  lastCode: () => string | undefined,
  recipient = ADMIN,
) {
  await page.goto(`${base}/admin`);
  await page.waitForURL(/\/admin\/login/);
  await page.fill("#recipient", recipient);
  await page.click("button[type=submit]");
  await page.waitForSelector("#code");
  await page.fill("#code", lastCode()!);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/admin`);
}

export async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent())?.trim() ?? "";
}

export const SIZES = [
  { name: "1440", width: 1440, height: 900 },
  { name: "390", width: 390, height: 844 },
];

/**
 * What scrolls sideways, if anything: the page (past the screen), or a table inside its frame
 * (a column too wide to fit). Neither may, at any size.
 */
export async function sidewaysOverflow(page: Page): Promise<string | null> {
  return await page.evaluate(() => {
    const { scrollWidth } = document.documentElement;
    if (scrollWidth > innerWidth) {
      const wide = [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
        .slice(0, 3)
        .map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
      return `scrollWidth ${scrollWidth} > ${innerWidth}: ${wide.join(", ")}`;
    }
    const table = [...document.querySelectorAll(".table-wrap")]
      .find((e) => e.scrollWidth > e.clientWidth + 1);
    return table ? `a table scrolls: ${table.scrollWidth} > ${table.clientWidth}` : null;
  });
}

/**
 * Opens a page at 1440 and at 390 px and photographs it light and dark
 * (`<name>_<width>_<scheme>.png`); at neither size may anything scroll sideways.
 */
export async function photograph(
  page: Page,
  name: string,
  open: () => Promise<unknown>,
  ready?: string,
): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.emulateMedia({ colorScheme: "light" });
    await open();
    if (ready) await page.waitForSelector(ready);
    await page.waitForLoadState("load");
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.equal(await sidewaysOverflow(page), null, `${name} at ${size.name} px`);
      await screenshot(page, `${ARTIFACTS}/${name}_${size.name}_${scheme}.png`);
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 1280, height: 800 });
}

/**
 * A full-page screenshot once the page has painted. Chromium now and then answers a capture
 * with "Unable to capture screenshot" when no frame is ready yet (seen once in CI, on a page
 * just reached by a form post); that is the browser's, not the page's, so it is tried again
 * after the next frames, at most three times. Any other failure fails at once.
 */
export async function screenshot(page: Page, path: string, fullPage = true): Promise<void> {
  for (let attempt = 1;; attempt++) {
    await nextFrames(page);
    try {
      await page.screenshot({ path, fullPage });
      return;
    } catch (error) {
      if (attempt === 3 || !/Unable to capture screenshot/.test(String(error))) throw error;
    }
  }
}

/** Waits until the page has drawn two more frames. */
async function nextFrames(page: Page): Promise<void> {
  await page.evaluate(() =>
    new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done())))
  );
}

export const LIVE = "[data-testid=live-badge].badge-live";
/** `GET` of the admin API with the page's session cookie. */
export async function adminGet(h: Harness, page: Page, path: string) {
  const cookies = await page.context().cookies();
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
  const res = await h.app.request(path, { headers: { cookie } });
  assert.equal(res.status, 200, path);
  return await res.json();
}

/**
 * A dashboard served on loopback with its islands built into a temporary directory (a
 * `deno task dev` running beside the tests keeps its own bundle), for a real browser.
 */
export async function startDashboard(env: Record<string, string> = {}) {
  const buildDir = await Deno.makeTempDir({ prefix: "doorman-islands-" });
  await buildIslands({ minify: true, outDir: buildDir });
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const h = await startHarness({
    env: { ADMIN_EMAILS: ADMIN, OTP_RESEND_COOLDOWN_SECONDS: "0", ...env },
    clock: systemClock,
    assets: await loadAssets({ buildDir }),
  });
  const server = serveHarness(h);
  const base = server.url;
  return {
    h,
    base,
    /** Signs `recipient` (an admin) in through `page`'s login form, with the code emailed. */
    signIn: (page: Page, recipient = ADMIN) =>
      signInThroughPage(page, base, () => h.email.lastCode(recipient), recipient),
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await h[Symbol.asyncDispose]();
      await Deno.remove(buildDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A dashboard served for a browser test. */
export type Dashboard = Awaited<ReturnType<typeof startDashboard>>;

/** What a browser test works with. */
export interface BrowserSession {
  browser: Browser;
  /** The first page's context: a 1280 × 800 window in the test's time zone. */
  context: BrowserContext;
  page: Page;
  /** A page in a context of its own like the first (another person's); its errors count too. */
  newPage(): Promise<Page>;
  /** `startDashboard`, stopped once the browser has closed. */
  startDashboard(env?: Record<string, string>): Promise<Dashboard>;
}

/** How a browser test differs from the others. */
export interface BrowserTestOptions {
  /** The browser's time zone, Paris by default: never UTC, so local times are not the server's. */
  timezoneId?: string;
  /** Errors the pages are expected to log (of an event stream the test cuts, say). */
  ignoreErrors?: RegExp;
}

/**
 * A test in Chromium, reported as ignored without it, that fails if a page of `newPage`
 * throws or logs an error `ignoreErrors` does not match. Sanitizers are off: the browser and
 * its event streams outlive the test's own ops.
 */
export function browserTest(
  name: string,
  fn: (session: BrowserSession) => Promise<void>,
  options: BrowserTestOptions = {},
): void {
  const { timezoneId = "Europe/Paris", ignoreErrors } = options;
  Deno.test({
    name,
    ignore: !hasChromium,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dashboards: Dashboard[] = [];
      const errors: string[] = [];
      const browser = await launch();
      try {
        const newPage = async () => {
          const viewport = { width: 1280, height: 800 };
          const page = await (await browser.newContext({ viewport, timezoneId })).newPage();
          page.on("pageerror", (error) => errors.push(String(error)));
          page.on("console", (message) => {
            if (message.type() === "error") errors.push(message.text());
          });
          return page;
        };
        const page = await newPage();
        await fn({
          browser,
          context: page.context(),
          page,
          newPage,
          async startDashboard(env) {
            const dashboard = await startDashboard(env);
            dashboards.push(dashboard);
            return dashboard;
          },
        });
        const unexpected = errors.filter((error) => !ignoreErrors?.test(error));
        assert.deepEqual(unexpected, [], "no errors in the browser console");
      } finally {
        await browser.close();
        for (const dashboard of dashboards) await dashboard[Symbol.asyncDispose]();
      }
    },
  });
}
