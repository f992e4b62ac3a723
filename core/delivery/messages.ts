import type { CodeMessage } from "./channel.ts";

/** The product name shown in every message. */
export const PRODUCT_NAME = "Doorman";

/** "5 minutes", "1 minute", "45 seconds". */
export function formatLifetime(seconds: number): string {
  if (seconds >= 60 && seconds % 60 === 0) {
    const minutes = seconds / 60;
    return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

/** Escapes text for Telegram's HTML parse mode (and HTML email). */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/**
 * The sign-in code message: product, code, lifetime and a do-not-share line. `name` (the
 * person's own, as Telegram reports it) greets them and is escaped; `deletesAfter` says when
 * a Telegram message removes itself.
 */
export function codeMessage(
  code: string,
  ttlSeconds: number,
  options: { name?: string; deletesAfterSeconds?: number } = {},
): CodeMessage {
  const lifetime = formatLifetime(ttlSeconds);
  const greeting = options.name ? `Hi ${escapeHtml(options.name.slice(0, 64))},\n` : "";
  const deletes = options.deletesAfterSeconds
    ? ` This message deletes itself in ${formatLifetime(options.deletesAfterSeconds)}.`
    : "";
  return {
    telegramHtml:
      `${greeting}Your <b>${PRODUCT_NAME}</b> sign-in code:\n\n<code>${code}</code>\n\n` +
      `Tap the code to copy it. It expires in ${lifetime}.${deletes}\n` +
      `Do not share it with anyone: ${PRODUCT_NAME} never asks you for it.`,
    subject: `${PRODUCT_NAME} sign-in code: ${code}`,
    text:
      `${PRODUCT_NAME}: your sign-in code is ${code}. It expires in ${lifetime}. Do not share it with anyone.`,
    html: `<p>Your ${PRODUCT_NAME} sign-in code is</p>` +
      `<p style="font-size:28px;font-weight:700;letter-spacing:4px;font-family:monospace">${code}</p>` +
      `<p>It expires in ${lifetime}. Do not share it with anyone.</p>` +
      `<p style="color:#666">If you did not ask for it, ignore this message.</p>`,
  };
}
