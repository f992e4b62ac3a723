import { DEFAULT_LOCALE, type Locale, LOCALES } from "./locales/mod.ts";

// Longer than any real tag or header: garbage is cut off before any parsing.
const MAX_TAG_LENGTH = 64;
const MAX_HEADER_LENGTH = 1024;
const MAX_HEADER_ENTRIES = 32;

const SUPPORTED = new Map(Object.keys(LOCALES).map((tag) => [tag.toLowerCase(), tag]));

/** The tags of every language Doorman has, `en` first. */
export const SUPPORTED_LOCALES: readonly string[] = [
  DEFAULT_LOCALE,
  ...Object.keys(LOCALES).filter((tag) => tag !== DEFAULT_LOCALE).sort(),
];

/**
 * The language to write in: the `requested` tag when Doorman has it (or its primary language:
 * `pt-BR` → `pt`), else `en`; without a requested tag, the best of `Accept-Language` by
 * q-value, else `en`. (A tag the client chose wins over its header, even one Doorman lacks.)
 * Case-insensitive; never throws, whatever the input.
 */
export function pickLocale(
  requested: string | undefined | null,
  acceptLanguage: string | null,
): string {
  if (typeof requested === "string" && requested.trim() !== "") {
    return match(requested) ?? DEFAULT_LOCALE;
  }
  return (typeof acceptLanguage === "string" ? fromAcceptLanguage(acceptLanguage) : undefined) ??
    DEFAULT_LOCALE;
}

/** The texts for `tag` (matched like `pickLocale`), English when Doorman does not have it. */
export function localeFor(tag: string | undefined | null): Locale {
  // A supported tag (what requests carry once picked) needs no matching.
  return (tag ? LOCALES[tag] : undefined) ?? LOCALES[pickLocale(tag, null)];
}

/** The supported tag for one BCP 47 tag: the tag itself, then ever shorter prefixes. */
function match(tag: string): string | undefined {
  const trimmed = tag.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_TAG_LENGTH) return undefined;
  let canonical: string;
  try {
    // Validates, and maps legacy tags to today's (`in` → `id`, `iw` → `he`).
    [canonical] = Intl.getCanonicalLocales(trimmed.replaceAll("_", "-"));
  } catch {
    return undefined;
  }
  const subtags = canonical.toLowerCase().split("-");
  for (let length = subtags.length; length > 0; length--) {
    const found = SUPPORTED.get(subtags.slice(0, length).join("-"));
    if (found) return found;
  }
  return undefined;
}

/** RFC 9110 `Accept-Language`: highest q first, ties in header order, q=0 and `*` skipped. */
function fromAcceptLanguage(header: string): string | undefined {
  const ranges: { tag: string; q: number }[] = [];
  for (const entry of header.slice(0, MAX_HEADER_LENGTH).split(",", MAX_HEADER_ENTRIES)) {
    const [tag, ...params] = entry.split(";").map((part) => part.trim());
    if (!tag || tag === "*") continue;
    let q = 1;
    for (const param of params) {
      if (!/^q\s*=/i.test(param)) continue;
      const weight = /^q\s*=\s*([01](?:\.\d{0,3})?)$/i.exec(param);
      q = weight ? Number(weight[1]) : NaN;
    }
    if (q > 0 && q <= 1) ranges.push({ tag, q });
  }
  ranges.sort((a, b) => b.q - a.q);
  for (const { tag } of ranges) {
    const found = match(tag);
    if (found) return found;
  }
  return undefined;
}
