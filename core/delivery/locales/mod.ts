/**
 * The languages Doorman writes messages in, by BCP 47 tag.
 *
 * One static import per file, not a directory scan with dynamic `import()`: a computed
 * specifier is outside the module graph that `deno check`, `deno compile` and Deno Deploy
 * build from, and scanning the folder would need file-system reads at run time. The price is
 * this one line per language; tests/delivery/messages_test.ts fails when a file in this folder
 * is not listed here.
 */
import type { Locale } from "./types.ts";
import en from "./en.ts";
import es from "./es.ts";
import id from "./id.ts";
import pt from "./pt.ts";
import ru from "./ru.ts";
import uk from "./uk.ts";

export type { Locale, PluralForms } from "./types.ts";

/** Every language, by tag. */
export const LOCALES: Readonly<Record<string, Locale>> = Object.freeze(
  Object.fromEntries([en, es, id, pt, ru, uk].map((locale) => [locale.tag, locale])),
);

/** The language used when no other fits. */
export const DEFAULT_LOCALE = "en";
