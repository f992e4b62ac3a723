/**
 * A fake Twilio Messages API on loopback: `POST /2010-04-01/Accounts/{sid}/Messages.json`
 * with HTTP Basic auth and a form body, answering like Twilio does. It can be told to refuse
 * (an error status with a Twilio error code), stall, break the connection or stop listening.
 * A message created with `StatusCallback` can be given status changes (`sendStatus`), posted
 * there as Twilio does: form-encoded and signed with `X-Twilio-Signature`.
 */
import { createHmac } from "node:crypto";
import { listenInFront } from "../../fakes/faulty_http.ts";

/** One message Twilio "sent". */
export interface TwilioMessage {
  to: string;
  from: string;
  body: string;
  /** `SM` and 32 hex digits, as Twilio's message SIDs. */
  sid: string;
  /** The `StatusCallback` the message was created with. */
  statusCallback?: string;
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
  /**
   * Posts a status change of message `sid` to its `StatusCallback`, form-encoded and signed as
   * Twilio does (`ErrorCode` with `failed`/`undelivered`); resolves to the callback's status.
   */
  sendStatus(sid: string, status: string, options?: { errorCode?: number }): Promise<number>;
}

/** Twilio's request signature: base64 HMAC-SHA1 of the URL and the sorted name/value pairs. */
function signTwilioRequest(authToken: string, url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  let data = url;
  for (const name of names) {
    for (const value of params.getAll(name).sort()) data += name + value;
  }
  return createHmac("sha1", authToken).update(data).digest("base64");
}

/** A message SID: `SM` and 32 hex digits. */
function messageSid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `SM${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** `RawDlrDoneDate`: when the carrier reported, as YYMMDDhhmm (UTC). */
function dlrDoneDate(at: Date): string {
  return at.toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d).*$/, "$1$2$3$4$5");
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
    async sendStatus(sid, status, options = {}) {
      const message = fake.messages.find((m) => m.sid === sid);
      if (!message?.statusCallback) throw new Error(`message ${sid} has no status callback`);
      const params = new URLSearchParams({
        AccountSid: accountSid,
        ApiVersion: "2010-04-01",
        From: message.from,
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: message.to,
      });
      if (options.errorCode !== undefined) params.set("ErrorCode", String(options.errorCode));
      if (status === "delivered" || status === "undelivered") {
        params.set("RawDlrDoneDate", dlrDoneDate(new Date()));
      }
      const response = await fetch(message.statusCallback, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "user-agent": "TwilioProxy/1.1",
          "x-twilio-signature": signTwilioRequest(authToken, message.statusCallback, params),
        },
        body: params,
      });
      await response.body?.cancel();
      return response.status;
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
    const message: TwilioMessage = {
      to: form.get("To") ?? "",
      from: form.get("From") ?? "",
      body: form.get("Body") ?? "",
      sid: messageSid(),
    };
    const statusCallback = form.get("StatusCallback");
    if (statusCallback) message.statusCallback = statusCallback;
    fake.messages.push(message);
    return Response.json({
      sid: message.sid,
      account_sid: accountSid,
      api_version: "2010-04-01",
      status: "queued",
      to: message.to,
      from: message.from,
      body: message.body,
    }, { status: 201 });
  });
  // Clients talk to the front, which breaks connections when the mode says so.
  const front = listenInFront(server.addr, {
    decide: () => mode.kind === "drop" || mode.kind === "cut" ? mode.kind : "pass",
  });
  fake.apiRoot = `http://127.0.0.1:${front.port}`;
  return fake;
}
