import assert from "node:assert/strict";
import { codeMessage, escapeHtml, formatLifetime } from "../../core/delivery/messages.ts";
import { localeFor, pickLocale, SUPPORTED_LOCALES } from "../../core/delivery/locale.ts";
import { type Locale, LOCALES } from "../../core/delivery/locales/mod.ts";
import { visibleText } from "../../fakes/telegram_html.ts";

const LOCALES_DIR = new URL("../../core/delivery/locales/", import.meta.url);
const NOT_LANGUAGES = new Set(["mod.ts", "types.ts"]);
const CODE = "482915";

/** Every text of a locale by its path (`email.subject`), plural forms left out. */
function texts(locale: Locale): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string) => {
    if (typeof value === "string") out.set(path, value);
    else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
    } else out.set(path, String(value));
  };
  const { minutes: _minutes, seconds: _seconds, ...rest } = locale;
  walk(rest, "");
  return out;
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

Deno.test("locales - every file in core/delivery/locales/ is registered in mod.ts under its tag", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(LOCALES_DIR)) {
    if (entry.isFile && entry.name.endsWith(".ts") && !NOT_LANGUAGES.has(entry.name)) {
      files.push(entry.name.slice(0, -".ts".length));
    }
  }
  assert.deepEqual(
    Object.keys(LOCALES).sort(),
    files.sort(),
    "add one `import` line per language file to core/delivery/locales/mod.ts",
  );
  for (const tag of files) {
    const { default: locale } = await import(new URL(`${tag}.ts`, LOCALES_DIR).href);
    assert.equal(locale.tag, tag, `${tag}.ts says its tag is "${locale.tag}"`);
    assert.equal(LOCALES[tag], locale);
  }
  assert.equal(SUPPORTED_LOCALES[0], "en");
  assert.deepEqual([...SUPPORTED_LOCALES].sort(), files.sort());
});

Deno.test("locales - every language has every text of English, non-empty, with the same placeholders", () => {
  const english = texts(LOCALES.en);
  for (const locale of Object.values(LOCALES)) {
    const own = texts(locale);
    assert.deepEqual([...own.keys()].sort(), [...english.keys()].sort(), locale.tag);
    for (const [path, text] of own) {
      assert.ok(text.trim().length > 0, `${locale.tag}: ${path} is empty`);
      assert.deepEqual(
        placeholders(text),
        placeholders(english.get(path)!),
        `${locale.tag}: ${path} has other placeholders than English`,
      );
    }
    assert.ok(["ltr", "rtl"].includes(locale.dir));
  }
});

Deno.test("locales - plural forms cover every category the language uses for whole numbers", () => {
  for (const locale of Object.values(LOCALES)) {
    const rules = new Intl.PluralRules(locale.tag);
    for (
      const [unit, forms] of [["minutes", locale.minutes], ["seconds", locale.seconds]] as const
    ) {
      for (const form of Object.values(forms)) {
        assert.match(form!, /\{n\}/, `${locale.tag}: ${unit} "${form}" has no {n}`);
      }
      for (let n = 0; n <= 1000; n++) {
        const category = rules.select(n);
        assert.ok(forms[category], `${locale.tag}: ${unit} has no "${category}" form (n = ${n})`);
      }
    }
  }
});

Deno.test("formatLifetime() - whole minutes as minutes, the rest in seconds, in each language's grammar", () => {
  const cases: [string, number, string][] = [
    ["en", 300, "5 minutes"],
    ["en", 60, "1 minute"],
    ["en", 45, "45 seconds"],
    ["en", 1, "1 second"],
    ["en", 90, "90 seconds"],
    ["ru", 300, "5 минут"],
    ["ru", 60, "1 минуту"],
    ["ru", 120, "2 минуты"],
    ["ru", 1260, "21 минуту"],
    ["ru", 660, "11 минут"],
    ["ru", 45, "45 секунд"],
    ["ru", 22, "22 секунды"],
    ["ru", 31, "31 секунду"],
    ["uk", 300, "5 хвилин"],
    ["uk", 60, "1 хвилину"],
    ["uk", 180, "3 хвилини"],
    ["uk", 45, "45 секунд"],
    ["uk", 21, "21 секунду"],
    ["es", 300, "5 minutos"],
    ["es", 60, "1 minuto"],
    ["es", 45, "45 segundos"],
    ["pt", 300, "5 minutos"],
    ["pt", 60, "1 minuto"],
    ["pt", 45, "45 segundos"],
    ["id", 300, "5 menit"],
    ["id", 60, "1 menit"],
    ["id", 45, "45 detik"],
  ];
  for (const [tag, seconds, expected] of cases) {
    assert.equal(formatLifetime(seconds, tag), expected, `${tag} ${seconds}`);
  }
  assert.equal(formatLifetime(300), "5 minutes");
  assert.equal(formatLifetime(300, "pt-BR"), "5 minutos");
  assert.equal(formatLifetime(300, "de"), "5 minutes");
});

Deno.test("codeMessage() - every language and medium has the code; bodies have the lifetime and the do-not-share line", () => {
  for (const locale of Object.values(LOCALES)) {
    for (const ttl of [300, 60, 45]) {
      const message = codeMessage(CODE, ttl, { locale: locale.tag, deletesAfterSeconds: 30 });
      const lifetime = formatLifetime(ttl, locale.tag);
      const where = `${locale.tag}, ${ttl} s`;
      assert.ok(message.subject.includes(CODE), `${where}: subject has no code`);
      for (const medium of ["text", "emailText", "html", "telegramHtml"] as const) {
        const html = medium === "html" || medium === "telegramHtml";
        const body = message[medium];
        const as = (text: string) => html ? escapeHtml(text) : text;
        assert.ok(body.includes(CODE), `${where}: ${medium} has no code`);
        assert.ok(body.includes(as(lifetime)), `${where}: ${medium} has no "${lifetime}"`);
        assert.ok(body.includes(as(locale.doNotShare)), `${where}: ${medium} does not warn`);
      }
      for (const text of Object.values(message)) {
        assert.doesNotMatch(text, /\{\w+\}/, `${where}: a placeholder was left unfilled`);
      }
      const seen = visibleText(message.telegramHtml, "HTML");
      assert.ok(seen.includes(CODE) && seen.includes(formatLifetime(30, locale.tag)), where);
    }
  }
});

Deno.test("codeMessage() - without options: English, Doorman, the texts existing tests know", () => {
  const message = codeMessage("123456", 300);
  assert.equal(message.subject, "Doorman sign-in code: 123456");
  assert.equal(
    message.text,
    "Doorman: your sign-in code is 123456. It expires in 5 minutes. Do not share it with anyone.",
  );
  assert.match(message.telegramHtml, /^Your <b>Doorman<\/b> sign-in code:\n\n<code>123456<\/code>/);
  assert.match(message.html, /<html lang="en" dir="ltr"/);
});

Deno.test("codeMessage() - a language Doorman lacks gives English; regional tags their language", () => {
  assert.deepEqual(codeMessage(CODE, 300, { locale: "de" }), codeMessage(CODE, 300));
  assert.deepEqual(codeMessage(CODE, 300, { locale: "!!" }), codeMessage(CODE, 300));
  assert.deepEqual(
    codeMessage(CODE, 300, { locale: "pt-BR" }),
    codeMessage(CODE, 300, { locale: "pt" }),
  );
  assert.equal(
    codeMessage(CODE, 300, { locale: "ru" }).text,
    "Doorman: код 482915. Действует 5 минут. Никому не сообщайте этот код.",
  );
});

Deno.test("codeMessage() - the app name and the person's name are escaped in HTML, plain in text", () => {
  const appName = `Eve's <b>"Shop"</b> & $& co`;
  const name = "<script>alert(1)</script> & Ada";
  for (const locale of Object.keys(LOCALES)) {
    const message = codeMessage(CODE, 300, { locale, appName, name, deletesAfterSeconds: 30 });
    for (const html of [message.html, message.telegramHtml]) {
      assert.ok(!html.includes("<script>") && !html.includes('<b>"Shop"'), locale);
      assert.ok(html.includes(escapeHtml(appName)), `${locale}: escaped app name missing`);
    }
    assert.ok(message.telegramHtml.includes(escapeHtml(name)), locale);
    assert.ok(message.html.includes(escapeHtml(name)), locale);
    assert.ok(message.subject.includes(appName) && message.text.includes(appName), locale);
    assert.ok(!message.text.includes(name), `${locale}: an SMS has no greeting`);
    visibleText(message.telegramHtml, "HTML");
  }
  const tg = codeMessage(CODE, 300, { name: "<b>Eve & co</b>" }).telegramHtml;
  assert.match(tg, /^Hi &lt;b&gt;Eve &amp; co&lt;\/b&gt;,\nYour <b>Doorman<\/b> sign-in code:/);
});

Deno.test("codeMessage() - names are one line; a long name is cut by character, not mid-emoji", () => {
  const message = codeMessage(CODE, 300, {
    appName: "Acme\r\nBcc: eve@example.com",
    name: "😀".repeat(70),
  });
  assert.equal(message.subject, "Acme Bcc: eve@example.com sign-in code: 482915");
  assert.ok(message.telegramHtml.startsWith(`Hi ${"😀".repeat(64)},\n`));
  assert.equal(codeMessage(CODE, 300, { appName: "  " }).subject, "Doorman sign-in code: 482915");
});

Deno.test("codeMessage() - the email: lang and dir, dark-mode aware, self-contained, code in one piece", () => {
  for (const locale of Object.values(LOCALES)) {
    const { html } = codeMessage(CODE, 300, { locale: locale.tag });
    assert.match(html, new RegExp(`<html lang="${locale.tag}" dir="${locale.dir}"`));
    assert.match(html, /<meta name="color-scheme" content="light dark">/);
    assert.match(html, /<meta name="viewport"/);
    // Nothing from the network: no images, stylesheets, fonts or scripts.
    assert.doesNotMatch(html, /<img|<link|<script|@import|url\(|src=/i);
    // Selectable as one piece: the code is a single text node.
    assert.match(html, new RegExp(`>${CODE}<`));
    const preheader = /<div style="display:none[^>]*>([\s\S]*?)<\/div>/.exec(html)?.[1] ?? "";
    assert.ok(preheader.includes(escapeHtml(locale.doNotShare)), locale.tag);
    assert.ok(!preheader.includes(CODE), `${locale.tag}: the preview line shows the code`);
    assert.ok(html.includes(escapeHtml(locale.email.ignore)), locale.tag);
    assert.ok(html.includes(escapeHtml(locale.email.heading)), locale.tag);
  }
});

Deno.test("pickLocale() - the requested tag first, then Accept-Language by q, then English", () => {
  const cases: [string | undefined | null, string | null, string][] = [
    ["ru", "es,en;q=0.5", "ru"],
    ["pt-BR", null, "pt"],
    ["PT-br", null, "pt"],
    ["pt_BR", null, "pt"],
    ["es-419", null, "es"],
    [undefined, "ru-RU,ru;q=0.9,en;q=0.8", "ru"],
    [null, "pt-BR,pt;q=0.9", "pt"],
    [undefined, "de", "en"],
    ["de", null, "en"],
    // The client chose a tag: its header does not decide, English does.
    ["de", "de-DE,uk;q=0.5", "en"],
    [undefined, "*", "en"],
    [undefined, "*;q=1, ru;q=0.5", "ru"],
    [undefined, "de;q=1, es;q=0.5, uk;q=0.5", "es"],
    [undefined, "ru;q=0, es;q=0.1", "es"],
    [undefined, "ru;q=0", "en"],
    [undefined, "ru;q=2, es", "es"],
    [undefined, "ru;q=abc, uk", "uk"],
    [undefined, "en;q=0.2, ru;q=0.8", "ru"],
    [undefined, "  RU  ;  Q=0.5 ", "ru"],
    [undefined, "in", "id"],
    ["", "uk", "uk"],
    ["   ", null, "en"],
    [undefined, "", "en"],
    [undefined, null, "en"],
    [null, null, "en"],
    ["<script>", "';--", "en"],
    ["x".repeat(10_000), ",".repeat(10_000) + "ru", "en"],
    ["ru-" + "a".repeat(100), null, "en"],
    [undefined, "da, en-gb;q=0.8, en;q=0.7", "en"],
  ];
  for (const [requested, header, expected] of cases) {
    assert.equal(
      pickLocale(requested, header),
      expected,
      `pickLocale(${JSON.stringify(requested)}, ${JSON.stringify(header)})`,
    );
  }
});

Deno.test("pickLocale() - never throws on garbage", () => {
  const junk = [
    "\u0000",
    "-",
    "--",
    "q=1",
    ";;;,,,",
    "ru;q=",
    "a-b-c-d-e-f-g-h-i-j-k",
    "\uD800",
    "x-private",
    "i-klingon",
    "en-US-u-ca-gregory",
    "zh-Hant-TW",
    "🙂",
  ];
  for (const a of junk) {
    for (const b of junk) assert.equal(typeof pickLocale(a, b), "string");
  }
  assert.equal(pickLocale(42 as unknown as string, 7 as unknown as string), "en");
  assert.equal(localeFor("zz"), LOCALES.en);
});
