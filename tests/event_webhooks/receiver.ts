/**
 * A receiver of Doorman's outbound events on loopback, checking every delivery the way the
 * README's "Receiving events" example does: `X-Doorman-Signature: t=…,v1=…` verified with
 * `crypto.subtle.verify` (constant time) over `"<t>.<body>"`, a timestamp within 5 minutes of
 * its clock, and each event id handled once. It records every try and answers as told.
 */

/** One POST the receiver got, whatever it answered. */
export interface Delivery {
  id: string;
  type: string;
  body: { id: string; type: string; at: string; data: Record<string, unknown> };
  /** The `X-Doorman-Event-Id` header. */
  header: string | null;
  contentType: string | null;
  /** Whether the signature and its timestamp passed. */
  verified: boolean;
  /** What the receiver answered. */
  status: number;
  /** Its clock when the POST came (ms). */
  at: number;
  /** The sender's port: the same port again means the same (kept-alive) connection. */
  port: number;
}

/** A running receiver. */
export interface EventReceiver extends AsyncDisposable {
  url: string;
  deliveries: Delivery[];
  /** Event ids handled (answered 2xx after a good signature), in order, each once. */
  handled: string[];
  /** The status of the next answers; 204 when empty (then it handles the event). */
  script: number[];
  /** Answered while no script is left: 204, or e.g. 503 while "down". */
  status: number;
  /** When set, each answer waits for it (a slow receiver; the POST is recorded first). */
  hold: Promise<void> | null;
  close(): Promise<void>;
}

const TOLERANCE_S = 300;
const encoder = new TextEncoder();

/** Starts a receiver on 127.0.0.1; `now` is its clock (a test's fake clock, or the wall's). */
export async function startEventReceiver(
  secret: string,
  options: { now?: () => number } = {},
): Promise<EventReceiver> {
  const now = options.now ?? Date.now;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const seen = new Set<string>();
  const receiver: EventReceiver = {
    url: "",
    deliveries: [],
    handled: [],
    script: [],
    status: 204,
    hold: null,
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => receiver.close(),
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req, info) => {
      const body = await req.text();
      // The README example, line for line (with this receiver's clock).
      const signature = req.headers.get("x-doorman-signature") ?? "";
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
      const mac = Uint8Array.from(v1?.match(/../g) ?? [], (h) => parseInt(h, 16));
      const fresh = Math.abs(now() / 1000 - Number(t)) < TOLERANCE_S;
      const verified = !(!t || !fresh ||
        !await crypto.subtle.verify("HMAC", key, mac, encoder.encode(`${t}.${body}`)));
      const event = JSON.parse(body);
      const status = !verified ? 401 : receiver.script.shift() ?? receiver.status;
      receiver.deliveries.push({
        id: event.id,
        type: event.type,
        body: event,
        header: req.headers.get("x-doorman-event-id"),
        contentType: req.headers.get("content-type"),
        verified,
        status,
        at: now(),
        port: info.remoteAddr.port,
      });
      if (status < 300 && !seen.has(event.id)) {
        seen.add(event.id);
        receiver.handled.push(event.id);
      }
      await receiver.hold;
      return new Response(null, { status });
    },
  );
  receiver.url = `http://127.0.0.1:${server.addr.port}/doorman/events`;
  return receiver;
}
