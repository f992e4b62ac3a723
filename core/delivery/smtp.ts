import nodemailer from "nodemailer";
import { type Channel, type CodeMessage, DeliveryError, notReached } from "./channel.ts";
import { PROVIDER_TIMEOUT_MS } from "./http_provider.ts";

/**
 * Email over SMTP (nodemailer): `smtp://user:pass@host:587` upgrades with STARTTLS when the
 * server offers it, `smtps://…:465` speaks TLS from the start. Every message carries the
 * plain text and the HTML of the code.
 */
export function smtpChannel(options: { url: string; from: string; timeoutMs?: number }): Channel {
  const timeout = options.timeoutMs ?? PROVIDER_TIMEOUT_MS;
  const url = new URL(options.url);
  const settings = {
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
  };
  return {
    name: "email",
    provider: "smtp",
    async send(to: string, message: CodeMessage): Promise<void> {
      // A transport per message, so its transaction log tells how far this message got: once
      // the server said `354` to DATA, it has the message and may deliver it whatever comes
      // next. The log is only read here, never written out (it can hold addresses).
      const progress = { handedOver: false };
      const transport = nodemailer.createTransport({
        ...settings,
        transactionLog: true,
        logger: watchDialogue(progress),
      });
      // One deadline for the whole exchange (nodemailer's are per step): past it the answer
      // is "timed out", and the send is left to finish or fail on its own.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(TIMED_OUT), timeout);
      });
      const sending = transport.sendMail({
        from: options.from,
        to,
        subject: message.subject,
        text: message.emailText,
        html: message.html,
      });
      sending.catch(() => {});
      try {
        await Promise.race([sending, late]);
      } catch (error) {
        throw toDeliveryError(error, progress.handedOver);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const TIMED_OUT = Symbol("smtp timed out");

/** A nodemailer logger that only notes whether the server accepted the message data. */
function watchDialogue(progress: { handedOver: boolean }) {
  const note = (meta: { tnx?: string }, line: unknown) => {
    if (meta?.tnx === "server" && typeof line === "string" && line.startsWith("354")) {
      progress.handedOver = true;
    }
  };
  const quiet = () => {};
  return { trace: quiet, debug: note, info: quiet, warn: quiet, error: quiet, fatal: quiet };
}

/**
 * What went wrong, and whether the message may have gone out: only once the server accepted
 * the message data can it have been sent. A refused login, sender or recipient, a server that
 * never greets, or no connection at all sends nothing.
 */
function toDeliveryError(error: unknown, handedOver: boolean): DeliveryError {
  if (error === TIMED_OUT) {
    return new DeliveryError("smtp timed out", { retryable: true, mayHaveSent: handedOver });
  }
  const e = error as { responseCode?: number; code?: string };
  if (e.code === "EAUTH") {
    return new DeliveryError("smtp refused the login", { retryable: false, mayHaveSent: false });
  }
  if (typeof e.responseCode === "number") {
    // A 4xx reply is temporary by SMTP's own rules, a 5xx permanent.
    return new DeliveryError(`smtp answered ${e.responseCode}`, {
      retryable: e.responseCode < 500,
      mayHaveSent: handedOver,
    });
  }
  if (notReached(error)) {
    return new DeliveryError("smtp could not connect", { retryable: true, mayHaveSent: false });
  }
  if (e.code === "ETIMEDOUT") {
    return new DeliveryError("smtp timed out", { retryable: true, mayHaveSent: handedOver });
  }
  return new DeliveryError(
    handedOver
      ? "smtp connection closed after the message"
      : "smtp connection closed before the message",
    { retryable: true, mayHaveSent: handedOver },
  );
}
