import { sign } from "../../core/delivery/webhook.ts";

/**
 * A fake SMS/email webhook receiver on loopback: it speaks the `webhook` provider protocol of
 * the README, "Delivery providers" (`POST` JSON, `X-Doorman-Signature: sha256=<hex>`), checks the signature, records
 * every message, and can be told to fail or stall.
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

/** What the receiver does with the next requests. */
export type ReceiverMode = { kind: "ok" } | { kind: "status"; status: number } | {
  kind: "stall";
};

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
  const receiver: WebhookReceiver = {
    url: "",
    messages: [],
    rejected: 0,
    attempts: 0,
    mode: { kind: "ok" },
    lastCode(to) {
      const message = receiver.messages.findLast((m) => m.to === to);
      return message?.text.match(/code is (\d+)/)?.[1];
    },
    async close() {
      for (const release of stalls) release();
      await server.shutdown();
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
    if (receiver.mode.kind === "status") {
      return new Response("failing on purpose", { status: receiver.mode.status });
    }
    if (receiver.mode.kind === "stall") {
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
  receiver.url = `http://127.0.0.1:${server.addr.port}/send`;
  return receiver;
}
