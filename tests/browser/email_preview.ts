/**
 * Renders the sign-in code email and screenshots it in Debian's Chromium (playwright-core):
 * English and Russian at 600 px (desktop client) and 390 px (phone), and English in dark
 * mode, into tests/artifacts/email_<locale>[_mobile|_dark].png. Nothing is sent anywhere.
 *
 *   deno run -A tests/browser/email_preview.ts
 */
import { chromium } from "playwright-core";
import { codeMessage } from "../../core/delivery/messages.ts";

const CODE = "482915";
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARTIFACTS = new URL("../artifacts/", import.meta.url).pathname;

const shots = [
  { locale: "en", width: 600, scheme: "light", file: "email_en.png" },
  { locale: "en", width: 390, scheme: "light", file: "email_en_mobile.png" },
  { locale: "en", width: 390, scheme: "dark", file: "email_en_dark.png" },
  { locale: "ru", width: 600, scheme: "light", file: "email_ru.png" },
  { locale: "ru", width: 390, scheme: "light", file: "email_ru_mobile.png" },
] as const;

await Deno.mkdir(ARTIFACTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  for (const shot of shots) {
    const context = await browser.newContext({
      viewport: { width: shot.width, height: 480 },
      colorScheme: shot.scheme,
      // The mail must not reach for anything: no images, fonts or styles from the network.
      offline: true,
    });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    await page.setContent(codeMessage(CODE, 300, { locale: shot.locale }).html);
    if (requests.length > 0) throw new Error(`The email fetched ${requests.join(", ")}`);
    await page.screenshot({ path: `${ARTIFACTS}${shot.file}`, fullPage: true });
    // One double-click takes the whole code, and nothing else, to the clipboard.
    await page.dblclick("td.box");
    const selected = await page.evaluate("String(getSelection()).trim()");
    if (selected !== CODE) throw new Error(`A double-click selects "${selected}"`);
    await context.close();
    console.log(`${ARTIFACTS}${shot.file}`);
  }
} finally {
  await browser.close();
}
