/**
 * A fake Twilio Messages API on loopback: `POST /2010-04-01/Accounts/{sid}/Messages.json`
 * with HTTP Basic auth and a form body, answering like Twilio does. It can be told to refuse
 * (an error status with a Twilio error code), stall, break the connection or stop listening.
 */
import { listenInFront } from "./faulty_http.ts";

/** One message Twilio "sent". */
export interface TwilioMessage {
  to: string;
  from: string;
  body: string;
}

/**
 * What the fake does with the next authenticated requests:
 * - `status`: refuses with that status and Twilio error code (`Retry-After` when given), as
 *   Twilio does before creating a message (e.g. 429/20429, 400/21211) or when it fails
 *   (500/20500, 503/20503);
 * - `stall`: reads the request and never answers;
 * - `drop`: creates the message (it is recorded: it went out), then closes the connection
 *   before answering;
 * - `cut`: creates the message, sends the status line, headers and half the body, then closes;
 * - `refuse`: nothing listens on the port (connection refused) until the mode changes again.
 */
export type TwilioMode =
  | { kind: "ok" }
  | { kind: "status"; status: number; code: number; retryAfter?: number }
  | { kind: "stall" }
  | { kind: "drop" }
  | { kind: "cut" }
  | { kind: "refuse" };

/** A running fake. */
export interface FakeTwilio extends AsyncDisposable {
  apiRoot: string;
  messages: TwilioMessage[];
  /** Authenticated requests received, whatever the fake then did. */
  attempts: number;
  /** When set, the next requests fail with this Twilio error (shorthand for a `status` mode). */
  failWith: { status: number; code: number } | null;
  mode: TwilioMode;
}

/** Twilio's wording of the errors the fake can be told to answer. */
const MESSAGES: Record<number, string> = {
  20003: "Authenticate",
  20404: "The requested resource was not found",
  20429: "Too Many Requests",
  20500: "Internal Server Error",
  20503: "Service Unavailable",
  21211: "The 'To' number is not a valid phone number.",
};

/** Starts the fake; it accepts only `accountSid` / `authToken`. */
export function startFakeTwilio(accountSid: string, authToken: string): FakeTwilio {
  const stalls = new Set<() => void>();
  let mode: TwilioMode = { kind: "ok" };
  const fake: FakeTwilio = {
    apiRoot: "",
    messages: [],
    attempts: 0,
    failWith: null,
    get mode() {
      return mode;
    },
    set mode(next) {
      mode = next;
      if (next.kind === "refuse") front.refuse();
      else front.accept();
    },
    async [Symbol.asyncDispose]() {
      for (const release of stalls) release();
      const frontClosed = front.close();
      await server.shutdown();
      await frontClosed;
    },
  };
  const twilioError = (status: number, code: number, retryAfter?: number) => {
    const headers: Record<string, string> = {};
    if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
    return Response.json({
      code,
      message: MESSAGES[code] ?? "refused",
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status,
    }, { status, headers });
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (
      req.method !== "POST" || url.pathname !== `/2010-04-01/Accounts/${accountSid}/Messages.json`
    ) {
      return twilioError(404, 20404);
    }
    if (req.headers.get("authorization") !== `Basic ${btoa(`${accountSid}:${authToken}`)}`) {
      return twilioError(401, 20003);
    }
    const form = new URLSearchParams(await req.text());
    fake.attempts++;
    if (fake.failWith) return twilioError(fake.failWith.status, fake.failWith.code);
    if (mode.kind === "status") return twilioError(mode.status, mode.code, mode.retryAfter);
    if (mode.kind === "stall") {
      await new Promise<void>((resolve) => {
        const release = () => {
          stalls.delete(release);
          resolve();
        };
        stalls.add(release);
        req.signal.addEventListener("abort", release);
      });
      return twilioError(504, 20504);
    }
    const message = {
      to: form.get("To") ?? "",
      from: form.get("From") ?? "",
      body: form.get("Body") ?? "",
    };
    fake.messages.push(message);
    return Response.json({ sid: `SM${fake.messages.length}`, status: "queued", ...message }, {
      status: 201,
    });
  });
  // Clients talk to the front, which breaks connections when the mode says so.
  const front = listenInFront(server.addr, {
    decide: () => mode.kind === "drop" || mode.kind === "cut" ? mode.kind : "pass",
  });
  fake.apiRoot = `http://127.0.0.1:${front.port}`;
  return fake;
}
