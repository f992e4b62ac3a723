import type { OutboundEvent } from "../../kv/event_webhooks.ts";
import { notReached } from "../delivery/channel.ts";

/** How long a receiver may take to answer. */
export const EVENT_TIMEOUT_MS = 5_000;
/** How long an idle connection to the receiver is kept for the next event. */
const KEEP_ALIVE_MS = 30_000;

/** How one POST went: a 2xx is delivered; anything else is retried. */
export type SendOutcome =
  | { ok: true; status: number }
  | { ok: false; status: number | "timeout" | "unreachable" | "broken"; error: string };

/** Sends one event; never throws. */
export type EventSender = (event: OutboundEvent) => Promise<SendOutcome>;

const encoder = new TextEncoder();

/**
 * `X-Doorman-Signature` for a body sent at `at` (ms):
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. Signing the time with the body lets
 * a receiver refuse a replayed old delivery. The key is imported once, on first use.
 */
export function eventSigner(secret: string): (body: string, at: number) => Promise<string> {
  let key: Promise<CryptoKey> | null = null;
  return async (body, at) => {
    key ??= crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const t = Math.floor(at / 1000);
    const mac = await crypto.subtle.sign("HMAC", await key, encoder.encode(`${t}.${body}`));
    return `t=${t},v1=${toHex(new Uint8Array(mac))}`;
  };
}

/**
 * POSTs events as `{ id, type, at, data }` JSON to `url`, signed when there is a secret, over
 * kept-alive connections, without following redirects, within `timeoutMs`. Unlike a code
 * message, an event may arrive twice (delivery is at least once; receivers dedupe by id), so
 * the retry `fetch` makes when a kept-alive connection dies unanswered is harmless, and a
 * busy instance does not open a connection per event.
 */
export function eventSender(
  options: { url: string; secret?: string; timeoutMs?: number; now: () => number },
): EventSender {
  const sign = options.secret ? eventSigner(options.secret) : null;
  const client = Deno.createHttpClient({ poolIdleTimeout: KEEP_ALIVE_MS });
  const timeoutMs = options.timeoutMs ?? EVENT_TIMEOUT_MS;
  return async (event) => {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-doorman-event-id": event.id,
    };
    if (sign) headers["x-doorman-signature"] = await sign(body, options.now());
    // A plain timer, cleared when the call ends (as the delivery channels do).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(options.url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: controller.signal,
        client,
      });
      await response.body?.cancel();
      const { status } = response;
      return status >= 200 && status < 300
        ? { ok: true, status }
        : { ok: false, status, error: `the receiver answered ${status}` };
    } catch (error) {
      if (controller.signal.aborted) {
        return { ok: false, status: "timeout", error: `no answer within ${timeoutMs / 1000} s` };
      }
      return notReached(error)
        ? { ok: false, status: "unreachable", error: "the receiver could not be reached" }
        : { ok: false, status: "broken", error: "the connection failed before an answer" };
    } finally {
      clearTimeout(timer);
    }
  };
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}
