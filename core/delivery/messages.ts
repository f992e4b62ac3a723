import type { CodeMessage } from "./channel.ts";
import { localeFor } from "./locale.ts";
import type { Locale } from "./locales/mod.ts";

/** The product name when `APP_NAME` sets none. */
export const DEFAULT_APP_NAME = "Doorman";

/** What a code message says besides the code: language, product, the person, self-deletion. */
export interface CodeMessageOptions {
  /** A BCP 47 tag; a language Doorman does not have gives English. */
  locale?: string;
  /** The product name (`config.appName`); default "Doorman". */
  appName?: string;
  /** The person's own name, as Telegram reports it: greets them. */
  name?: string;
  /** When a Telegram message removes itself. */
  deletesAfterSeconds?: number;
}

/** "5 minutes", "1 minute", "45 seconds", in `locale`'s words (default English). */
export function formatLifetime(seconds: number, locale?: string): string {
  return lifetime(localeFor(locale), seconds);
}

/** Escapes text for Telegram's HTML parse mode (and HTML email). */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/**
 * The sign-in code message in every medium: product, code, lifetime and a do-not-share line,
 * in the language `locale` names. The app name and the person's name are escaped wherever
 * they go into HTML.
 */
export function codeMessage(
  code: string,
  ttlSeconds: number,
  options: CodeMessageOptions = {},
): CodeMessage {
  const t = localeFor(options.locale);
  const plain: Values = {
    app: oneLine(options.appName ?? "") || DEFAULT_APP_NAME,
    code,
    lifetime: lifetime(t, ttlSeconds),
    // By code point, so a cut never splits an emoji.
    name: oneLine(Array.from(options.name ?? "").slice(0, 64).join("")),
  };
  const escaped = Object.fromEntries(
    Object.entries(plain).map(([key, value]) => [key, escapeHtml(value)]),
  ) as Values;
  const html = (template: string, values: Partial<Values> = {}) =>
    fill(escapeHtml(template), { ...escaped, ...values });
  const deletes = () =>
    options.deletesAfterSeconds
      ? html(t.telegram.selfDelete, {
        lifetime: escapeHtml(lifetime(t, options.deletesAfterSeconds)),
      })
      : "";

  // Each medium is rendered when first read: an SMS never builds the HTML email.
  return lazily({
    text: () => fill(t.sms, plain),
    subject: () => fill(t.email.subject, plain),
    emailText: () =>
      [
        fill(t.email.heading, plain),
        "",
        fill(t.email.intro, plain),
        "",
        `    ${code}`,
        "",
        fill(t.expires, plain),
        `${fill(t.doNotShare, plain)} ${fill(t.neverAsks, plain)}`,
        "",
        fill(t.email.ignore, plain),
        "",
        "--",
        fill(t.email.footer, plain),
      ].join("\n"),
    html: () => emailHtml(t, html, plain),
    telegramHtml: () =>
      (plain.name ? `${html(t.greeting)}\n` : "") +
      `${html(t.telegram.heading, { app: `<b>${escaped.app}</b>` })}\n\n` +
      `<code>${escaped.code}</code>\n\n` +
      [html(t.telegram.copyHint), html(t.expires), deletes()].filter(Boolean).join(" ") + "\n" +
      `${html(t.doNotShare)} ${html(t.neverAsks)}`,
  });
}

/** An object whose fields are computed on first read and kept (and spread like plain ones). */
function lazily<T extends Record<string, unknown>>(make: { [K in keyof T]: () => T[K] }): T {
  const out = {} as T;
  for (const key of Object.keys(make) as (keyof T)[]) {
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get() {
        const value = make[key]();
        Object.defineProperty(out, key, { value, enumerable: true, writable: true });
        return value;
      },
    });
  }
  return out;
}

type Values = { app: string; code: string; lifetime: string; name: string };

const plurals = new Map<string, Intl.PluralRules>();

/** A language's plural rules, made once (making them is what a message costs most). */
function pluralRules(tag: string): Intl.PluralRules {
  let rules = plurals.get(tag);
  if (!rules) plurals.set(tag, rules = new Intl.PluralRules(tag));
  return rules;
}

function lifetime(t: Locale, seconds: number): string {
  const [count, forms] = seconds >= 60 && seconds % 60 === 0
    ? [seconds / 60, t.minutes]
    : [seconds, t.seconds];
  const form = forms[pluralRules(t.tag).select(count)] ?? forms.other;
  return form.replaceAll("{n}", String(count));
}

/** Replaces `{key}` with its value; a function replacer, so `$` in a value stays literal. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(
    /\{(\w+)\}/g,
    (placeholder, key: string) => Object.hasOwn(values, key) ? values[key] : placeholder,
  );
}

/** Control characters and line breaks become spaces: names go into subjects and headings. */
export function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, " ").trim();
}

const SANS = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif";
const MONO = "ui-monospace,SFMono-Regular,Menlo,Consolas,'Liberation Mono','Courier New',monospace";

// Light colours are inline, so every client gets a readable mail; clients that honour
// `prefers-color-scheme` (Apple Mail, Outlook for Mac, some webmails) switch to the dark set.
const STYLE = `
:root{color-scheme:light dark;supported-color-schemes:light dark}
a[x-apple-data-detectors],u+#body a,#MessageViewBody a{color:inherit!important;text-decoration:none!important;font:inherit!important}
@media (max-width:520px){.card{padding:28px 24px!important}}
@media (prefers-color-scheme:dark){
.bg{background-color:#09090b!important}
.card{background-color:#18181b!important;border-color:#27272a!important}
.box{background-color:#27272a!important;color:#fafafa!important}
.ink{color:#fafafa!important}
.text{color:#d4d4d8!important}
.muted{color:#a1a1aa!important}
.rule{border-color:#27272a!important}
.mark{background-color:#fafafa!important;color:#18181b!important}
}`;

/**
 * The email: tables and inline styles only (Gmail, Outlook, Apple Mail), no images or web
 * fonts. The preview line carries the lifetime and the warning, not the code: the subject
 * already shows it.
 */
function emailHtml(
  t: Locale,
  html: (template: string, values?: Partial<Values>) => string,
  plain: Values,
): string {
  const start = t.dir === "rtl" ? "right" : "left";
  const app = escapeHtml(plain.app);
  const initial = escapeHtml((Array.from(plain.app)[0] ?? "").toUpperCase());
  const p = (cls: string, style: string, content: string) =>
    `<p class="${cls}" style="font-family:${SANS};${style}">${content}</p>`;
  return `<!DOCTYPE html>
<html lang="${
    escapeHtml(t.tag)
  }" dir="${t.dir}" xmlns="http://www.w3.org/1999/xhtml" xmlns:o="urn:schemas-microsoft-com:office:office">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="x-apple-disable-message-reformatting">
<meta name="format-detection" content="telephone=no,date=no,address=no,email=no,url=no">
<meta name="color-scheme" content="light dark">
<meta name="supported-color-schemes" content="light dark">
<title>${html(t.email.subject)}</title>
<!--[if mso]><noscript><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml></noscript><style>td,p,h1{font-family:'Segoe UI',Arial,sans-serif!important}.box{font-family:Consolas,'Courier New',monospace!important}</style><![endif]-->
<style>${STYLE}</style>
</head>
<body id="body" class="bg" style="margin:0;padding:0;width:100%;background-color:#f4f4f5;-webkit-text-size-adjust:100%;-ms-text-size-adjust:100%">
<div style="display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;font-size:1px;line-height:1px;color:#f4f4f5;mso-hide:all">${
    html(t.expires)
  } ${html(t.doNotShare)}${"&#847;&zwnj;&nbsp;".repeat(60)}</div>
<table role="presentation" class="bg" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f5">
<tr><td align="center" style="padding:40px 16px">
<!--[if mso]><table role="presentation" align="center" width="520" cellpadding="0" cellspacing="0" border="0"><tr><td><![endif]-->
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:520px">
<tr><td align="${start}" style="padding:0 4px 20px">
<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>
<td class="mark" width="32" height="32" align="center" valign="middle" style="width:32px;height:32px;border-radius:8px;background-color:#18181b;color:#ffffff;font-family:${SANS};font-size:17px;line-height:32px;font-weight:700">${initial}</td>
<td class="ink" style="padding:0 10px;font-family:${SANS};font-size:17px;line-height:32px;font-weight:600;color:#18181b">${app}</td>
</tr></table>
</td></tr>
<tr><td class="card" align="${start}" style="padding:36px 40px;background-color:#ffffff;border:1px solid #e4e4e7;border-radius:12px">
<h1 class="ink" style="margin:0 0 12px;font-family:${SANS};font-size:22px;line-height:30px;font-weight:600;color:#18181b">${
    html(t.email.heading)
  }</h1>
${
    plain.name
      ? p(
        "text",
        "margin:0 0 8px;font-size:15px;line-height:24px;color:#3f3f46",
        html(t.greeting),
      ) + "\n"
      : ""
  }${p("text", "margin:0;font-size:15px;line-height:24px;color:#3f3f46", html(t.email.intro))}
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td style="padding:20px 0">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
<tr><td class="box" align="center" dir="ltr" style="padding:18px 12px 18px 18px;background-color:#f4f4f5;border-radius:10px;font-family:${MONO};font-size:32px;line-height:40px;font-weight:700;letter-spacing:6px;color:#18181b;mso-line-height-rule:exactly;-webkit-user-select:all;user-select:all">${
    html("{code}")
  }</td></tr>
</table>
</td></tr></table>
${p("text", "margin:0 0 12px;font-size:15px;line-height:24px;color:#3f3f46", html(t.expires))}
${
    p(
      "text",
      "margin:0;font-size:15px;line-height:24px;color:#3f3f46",
      `<strong class="ink" style="font-weight:600;color:#18181b">${html(t.doNotShare)}</strong> ${
        html(t.neverAsks)
      }`,
    )
  }
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td class="rule" style="padding:24px 0 0;border-bottom:1px solid #e4e4e7;font-size:0;line-height:0">&nbsp;</td></tr></table>
${
    p(
      "muted",
      "margin:20px 0 0;font-size:13px;line-height:20px;color:#71717a",
      html(t.email.ignore),
    )
  }
</td></tr>
<tr><td align="center" style="padding:24px 16px 0">
${p("muted", "margin:0;font-size:12px;line-height:18px;color:#71717a", html(t.email.footer))}
</td></tr>
</table>
<!--[if mso]></td></tr></table><![endif]-->
</td></tr>
</table>
</body>
</html>
`;
}
