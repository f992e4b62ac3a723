/**
 * Forms of a counted unit by `Intl.PluralRules` category, `{n}` standing for the number.
 * Write them as they read inside this language's lifetime sentences ("expires in 1 minute":
 * Russian "через 1 минуту", not the dictionary "1 минута"). A category the language never
 * selects for whole numbers may be left out; `other` is the fallback.
 */
export type PluralForms = Partial<Record<Intl.LDMLPluralRule, string>> & { other: string };

/**
 * Every text of the sign-in code message in one language. Placeholders: `{app}` the product
 * name, `{code}` the code, `{lifetime}` a duration in this language's plural forms, `{name}`
 * the person's first name. Texts are plain text: the renderer escapes them for HTML.
 */
export interface Locale {
  /** BCP 47 tag, the same as the file name: `en`, `pt`, `pt-PT`. */
  tag: string;
  /** The language's own name for itself ("Русский"), for pickers and logs. */
  name: string;
  dir: "ltr" | "rtl";
  minutes: PluralForms;
  seconds: PluralForms;
  /** SMS and the plain text part: `{app}`, `{code}`, `{lifetime}`, and `doNotShare` verbatim. */
  sms: string;
  /** "It expires in {lifetime}." */
  expires: string;
  /** The do-not-share sentence; it appears verbatim in every medium. */
  doNotShare: string;
  /** "{app} will never ask you for it." Follows `doNotShare` in email and Telegram. */
  neverAsks: string;
  /** "Hi {name}," — Telegram and email, only when the person's name is known. */
  greeting: string;
  email: {
    /** Has `{app}` and `{code}`. */
    subject: string;
    heading: string;
    intro: string;
    ignore: string;
    footer: string;
  };
  telegram: {
    /** `{app}` is shown bold. */
    heading: string;
    copyHint: string;
    selfDelete: string;
  };
  /**
   * The notice to a phone or email an account stopped using: `{app}`, and `{contact}` the
   * contact that replaced it, masked (`+1415•••0100`, `a•••@example.com`).
   */
  contactChanged: {
    subject: string;
    /** "The phone number of your {app} account was changed to {contact}." */
    phone: string;
    email: string;
    /** What to do when the person did not make the change. */
    notYou: string;
  };
}
