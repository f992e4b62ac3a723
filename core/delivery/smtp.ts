import nodemailer from "nodemailer";
import { type Channel, type CodeMessage, DeliveryError } from "./channel.ts";
import { PROVIDER_TIMEOUT_MS } from "./webhook.ts";

/**
 * Email over SMTP (nodemailer): `smtp://user:pass@host:587` upgrades with STARTTLS when the
 * server offers it, `smtps://…:465` speaks TLS from the start. Every message carries the
 * plain text and the HTML of the code.
 */
export function smtpChannel(options: { url: string; from: string; timeoutMs?: number }): Channel {
  const timeout = options.timeoutMs ?? PROVIDER_TIMEOUT_MS;
  const url = new URL(options.url);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587,
    secure: url.protocol === "smtps:",
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // One connection per message: codes are rare, and nothing stays open between them.
    pool: false,
    logger: false,
  });
  return {
    name: "email",
    provider: "smtp",
    async send(to: string, message: CodeMessage): Promise<void> {
      try {
        await transport.sendMail({
          from: options.from,
          to,
          subject: message.subject,
          text: message.text,
          html: message.html,
        });
      } catch (error) {
        throw toDeliveryError(error);
      }
    },
  };
}

/**
 * What went wrong, and whether the message may have gone out: only once the server was
 * given the message itself (`DATA`) can it have been sent; a refused login, sender or
 * recipient, or no connection at all, sends nothing.
 */
function toDeliveryError(error: unknown): DeliveryError {
  const e = error as { responseCode?: number; code?: string; command?: string };
  const duringMessage = e.command === "DATA" || e.command === "MESSAGE" ||
    (e.command === undefined && e.code === "ETIMEDOUT");
  if (e.code === "EAUTH") {
    return new DeliveryError("smtp refused the login", { retryable: false, mayHaveSent: false });
  }
  if (typeof e.responseCode === "number") {
    // A 4xx reply is temporary by SMTP's own rules, a 5xx permanent.
    return new DeliveryError(`smtp answered ${e.responseCode}`, {
      retryable: e.responseCode < 500,
      mayHaveSent: duringMessage,
    });
  }
  if (e.code === "ETIMEDOUT") {
    return new DeliveryError("smtp timed out", { retryable: true, mayHaveSent: duringMessage });
  }
  return new DeliveryError("smtp could not connect", {
    retryable: true,
    mayHaveSent: e.code !== "ECONNECTION" && e.command !== "CONN" && duringMessage,
  });
}
