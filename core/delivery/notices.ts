import type { CodeMessage } from "./channel.ts";
import { localeFor } from "./locale.ts";
import { DEFAULT_APP_NAME, escapeHtml, fill, oneLine } from "./messages.ts";

/**
 * The notice a phone or email gets when an account stops using it ("the phone number of your
 * account was changed to +1415•••0100"), in the language `locale` names, in every medium. It
 * carries no code and no link: a notice someone could forge gains them nothing.
 */
export function contactChangedNotice(
  kind: "phone" | "email",
  options: { replacedBy: string; locale?: string; appName?: string },
): CodeMessage {
  const t = localeFor(options.locale).contactChanged;
  const values = {
    app: oneLine(options.appName ?? "") || DEFAULT_APP_NAME,
    contact: options.replacedBy,
  };
  const subject = fill(t.subject, values);
  const text = `${fill(t[kind], values)} ${fill(t.notYou, values)}`;
  const html = escapeHtml(text);
  return {
    text,
    subject,
    emailText: text,
    html: `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${
      escapeHtml(subject)
    }</title></head><body><p>${html}</p></body></html>`,
    telegramHtml: html,
  };
}
