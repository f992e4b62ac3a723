import { sign } from "../core/delivery/http_provider.ts";
import { listenInFront } from "./faulty_http.ts";

/**
 * A fake SMS/email webhook receiver on loopback: it speaks the `webhook` provider protocol of
 * the README, "Delivery providers" (`POST` JSON, `X-Doorman-Signature: sha256=<hex>`), checks the signature, records
 * every message, and can be told to fail, stall, break the connection or stop listening.
 */

/** One message the receiver accepted. */
export interface ReceivedMessage {
  to: string;
  text: string;
  subject?: string;
  html?: string;
  signature: string | null;
  at: number;
}

/**
 * What the receiver does with the next requests:
 * - `status`: answers that status (with `Retry-After: <retryAfter>` when given);
 * - `stall`: reads the request and never answers;
 * - `drop`: takes the message (it is recorded, as a gateway that sent it would), then closes
 *   the connection before answering;
 * - `cut`: takes the message, sends the status line, headers and half the body, then closes;
 * - `refuse`: nothing listens on the port (connection refused) until the mode changes again.
 */
export type ReceiverMode =
  | { kind: "ok" }
  | { kind: "status"; status: number; retryAfter?: number }
  | { kind: "stall" }
  | { kind: "drop" }
  | { kind: "cut" }
  | { kind: "refuse" };

/** A running fake receiver. */
export interface WebhookReceiver extends AsyncDisposable {
  url: string;
  messages: ReceivedMessage[];
  /** Requests refused for a bad signature. */
  rejected: number;
  /** Signed requests received, whatever the receiver then answered. */
  attempts: number;
  mode: ReceiverMode;
  /** The code in the last message to `to`, if any. */
  lastCode(to: string): string | undefined;
  close(): Promise<void>;
}

/** Starts a receiver; with `secret`, unsigned or wrongly signed requests get 401. */
export function startWebhookReceiver(options: { secret?: string } = {}): WebhookReceiver {
  const stalls = new Set<() => void>();
  let mode: ReceiverMode = { kind: "ok" };
  const receiver: WebhookReceiver = {
    url: "",
    messages: [],
    rejected: 0,
    attempts: 0,
    get mode() {
      return mode;
    },
    set mode(next) {
      mode = next;
      if (next.kind === "refuse") front.refuse();
      else front.accept();
    },
    lastCode(to) {
      const message = receiver.messages.findLast((m) => m.to === to);
      // The first run of 4-10 digits standing alone: the code, in any language and medium.
      return message?.text.match(/(?<!\w)\d{4,10}(?!\w)/)?.[0];
    },
    async close() {
      for (const release of stalls) release();
      const frontClosed = front.close();
      await server.shutdown();
      await frontClosed;
    },
    async [Symbol.asyncDispose]() {
      await receiver.close();
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.text();
    const signature = req.headers.get("x-doorman-signature");
    if (options.secret && signature !== await sign(options.secret, body)) {
      receiver.rejected++;
      return new Response("bad signature", { status: 401 });
    }
    receiver.attempts++;
    if (mode.kind === "status") {
      const headers: Record<string, string> = {};
      if (mode.retryAfter !== undefined) headers["retry-after"] = String(mode.retryAfter);
      return new Response("failing on purpose", { status: mode.status, headers });
    }
    if (mode.kind === "stall") {
      await new Promise<void>((resolve) => {
        stalls.add(resolve);
        req.signal.addEventListener("abort", () => resolve());
      });
      return new Response("too late", { status: 504 });
    }
    const message = JSON.parse(body) as Omit<ReceivedMessage, "signature" | "at">;
    receiver.messages.push({ ...message, signature, at: Date.now() });
    return Response.json({ accepted: true });
  });
  // Clients talk to the front, which breaks connections when the mode says so.
  const front = listenInFront(server.addr, {
    decide: () => mode.kind === "drop" || mode.kind === "cut" ? mode.kind : "pass",
  });
  receiver.url = `http://127.0.0.1:${front.port}/send`;
  return receiver;
}
