/**
 * A fake Telegram Gateway API on loopback (core.telegram.org/gateway/api): `GET`/`POST
 * /<method>` with the parameters in the query, a form or JSON, the token as
 * `Authorization: Bearer <token>` or `access_token`, answers `{ ok: true, result }` or
 * `{ ok: false, error }`. It knows which phones are on Telegram, charges a balance, keeps every
 * request and message, and sends delivery reports to a send's `callback_url`, signed as the
 * Gateway does (`X-Request-Timestamp`, `X-Request-Signature`). It can be told to fail, answer
 * slowly, drop the connection after running a method, or stop listening.
 *
 * The Gateway documents no HTTP statuses for its errors; the fake answers token errors with
 * 401 and other refusals with 400, and clients must read the JSON whatever the status.
 */
import { createHash, createHmac } from "node:crypto";
import { listenInFront } from "../../fakes/faulty_http.ts";
import {
  GatewayFailure,
  gatewayMethods,
  type GatewayRequest,
  type GatewaySentMessage,
  type GatewayState,
  type RequestStatusJson,
} from "./telegram_gateway_methods.ts";

export type { GatewaySentMessage, RequestStatusJson };

/**
 * What the fake does with the next authenticated calls (of method `only`, when given; the
 * others are answered normally):
 * - `failing`: the method does not run; the answer is `{ ok: false, error }` with `status`, or,
 *   without `error`, the HTML error page of the front server with `status` (e.g. 500, 502);
 * - `slow`: the method runs (a message goes out), the answer comes `delayMs` later;
 * - `drop`: the method runs, then the connection closes before the answer.
 */
export type GatewayMode =
  | { kind: "ok" }
  | { kind: "failing"; status: number; error?: string; only?: string }
  | { kind: "slow"; delayMs: number; only?: string }
  | { kind: "drop"; only?: string };

/** One authenticated call, in arrival order (parameters as received, code included). */
export interface GatewayCall {
  method: string;
  params: Record<string, string>;
}

/** One report the fake posted, and what the callback answered (null: no answer). */
export interface SentReport {
  requestId: string;
  url: string;
  status: string;
  body: string;
  timestamp: string;
  answer: number | null;
}

/** A running fake Gateway. */
export interface FakeGateway extends AsyncDisposable {
  apiRoot: string;
  token: string;
  /** E.164 numbers that have Telegram; others get `PHONE_NUMBER_NOT_FOUND`. */
  phonesOnTelegram: Set<string>;
  /** Credits left; a message costs `price` (free to the owner's `ownPhone`). */
  balance: number;
  price: number;
  mode: GatewayMode;
  /** Delivery statuses reported to `callback_url` right after each send, in order. */
  autoReport: string[];
  calls: GatewayCall[];
  messages: GatewaySentMessage[];
  reports: SentReport[];
  /** The request's RequestStatus as the Gateway would report it now. */
  statusOf(requestId: string): RequestStatusJson | undefined;
  /**
   * Moves a sent message to `status` and posts the signed report to its `callback_url`;
   * resolves to the callback's HTTP status (null when it could not be reached).
   * `timestamp` (Unix seconds) overrides the report's time, e.g. to send a stale one.
   */
  report(
    requestId: string,
    status: string,
    options?: { timestamp?: number },
  ): Promise<number | null>;
  /** Resolves when every report started so far (automatic ones included) has been answered. */
  settled(): Promise<void>;
  /** Connections clients opened so far. */
  readonly connections: number;
  /** Stops listening (connecting is refused); `up()` listens on the same port again. */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

/** The Gateway's signature of a report: hex HMAC-SHA-256 of `ts\nbody`, key SHA-256(token). */
function signReport(token: string, timestamp: string, body: string): string {
  const key = createHash("sha256").update(token).digest();
  return createHmac("sha256", key).update(`${timestamp}\n${body}`).digest("hex");
}

function failure(error: string, status: number): Response {
  return Response.json({ ok: false, error }, { status });
}

function frontErrorPage(status: number): Response {
  const html = `<html>\r\n<head><title>${status}</title></head>\r\n<body>\r\n<center><h1>` +
    `${status}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  return new Response(html, { status, headers: { "content-type": "text/html" } });
}

async function readParams(req: Request, url: URL): Promise<Record<string, string>> {
  const params: Record<string, string> = Object.fromEntries(url.searchParams);
  if (req.method !== "POST") return params;
  const type = req.headers.get("content-type") ?? "";
  const text = await req.text();
  if (text.trim() === "") return params;
  if (type.includes("application/json")) {
    const body = JSON.parse(text);
    if (typeof body !== "object" || body === null) throw new GatewayFailure("INVALID_JSON");
    for (const [name, value] of Object.entries(body)) {
      if (value !== null && value !== undefined) params[name] = String(value);
    }
  } else {
    for (const [name, value] of new URLSearchParams(text)) params[name] = value;
  }
  return params;
}

/** Starts the fake; it accepts only `token` (default `TEST:gateway-token`). */
export function startFakeGateway(
  options: { token?: string; phonesOnTelegram?: Iterable<string>; ownPhone?: string } = {},
): FakeGateway {
  const token = options.token ?? "TEST:gateway-token";
  const state: GatewayState = {
    phonesOnTelegram: new Set(options.phonesOnTelegram ?? []),
    ownPhone: options.ownPhone ?? null,
    balance: 100,
    price: 0.01,
    requests: new Map(),
    messages: [],
  };
  const pending = new Set<Promise<unknown>>();
  const waits = new Set<() => void>();
  let mode: GatewayMode = { kind: "ok" };

  function track<T>(promise: Promise<T>): Promise<T> {
    pending.add(promise);
    promise.finally(() => pending.delete(promise)).catch(() => {});
    return promise;
  }

  async function report(
    requestId: string,
    status: string,
    reportOptions: { timestamp?: number } = {},
  ): Promise<number | null> {
    const request = state.requests.get(requestId);
    const url = request?.message?.callbackUrl;
    if (!request || !url) throw new Error(`request ${requestId} has no callback_url`);
    const at = reportOptions.timestamp ?? Math.floor(Date.now() / 1000);
    request.status.delivery_status = { status, updated_at: at };
    // A message that expired undelivered is refunded.
    if (status === "expired") request.status.is_refunded = true;
    const { remaining_balance: _, ...shown } = request.status;
    const body = JSON.stringify(shown);
    const timestamp = String(at);
    const sent: SentReport = { requestId, url, status, body, timestamp, answer: null };
    fake.reports.push(sent);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-request-timestamp": timestamp,
          "x-request-signature": signReport(token, timestamp, body),
        },
        body,
      });
      await response.body?.cancel();
      sent.answer = response.status;
    } catch {
      sent.answer = null;
    }
    return sent.answer;
  }

  function onSent(request: GatewayRequest): void {
    const statuses = [...fake.autoReport];
    if (statuses.length === 0 || !request.message?.callbackUrl) return;
    const requestId = request.status.request_id;
    track((async () => {
      // After the answer to the send, as the real reports come.
      await new Promise((resolve) => setTimeout(resolve, 10));
      for (const status of statuses) await report(requestId, status);
    })());
  }

  const methods = gatewayMethods(state, onSent);

  /** Waits `ms`, or less when the fake closes. (Not on `req.signal`: reading it warns.) */
  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waits.add(done);
    });
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    let params: Record<string, string>;
    try {
      params = await readParams(req, url);
    } catch {
      return failure("INVALID_PARAMETERS", 400);
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
    const given = bearer ?? params.access_token;
    if (!given) return failure("ACCESS_TOKEN_REQUIRED", 401);
    if (given !== token) return failure("ACCESS_TOKEN_INVALID", 401);
    delete params.access_token;
    const name = url.pathname.slice(1).toLowerCase();
    fake.calls.push({ method: url.pathname.slice(1), params });
    const applies = mode.kind !== "ok" && (!mode.only || mode.only.toLowerCase() === name);
    if (applies && mode.kind === "failing") {
      return mode.error ? failure(mode.error, mode.status) : frontErrorPage(mode.status);
    }
    const method = Object.hasOwn(methods, name) ? methods[name] : undefined;
    if (!method) return failure("UNKNOWN_METHOD", 404);
    let body: Response;
    try {
      body = Response.json({ ok: true, result: method(params) });
    } catch (error) {
      if (!(error instanceof GatewayFailure)) throw error;
      body = failure(error.error, error.status);
    }
    if (applies && mode.kind === "slow") await delay(mode.delayMs);
    return body;
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  // Clients talk to the front, which drops connections in `drop` mode and refuses when down.
  const front = listenInFront(server.addr, {
    decide: (head) => {
      if (mode.kind !== "drop") return "pass";
      const method = /^\/([^/?]*)/.exec(head.target)?.[1].toLowerCase();
      return !mode.only || mode.only.toLowerCase() === method ? "drop" : "pass";
    },
  });
  let closing: Promise<void> | null = null;
  const fake: FakeGateway = {
    apiRoot: `http://127.0.0.1:${front.port}`,
    token,
    get phonesOnTelegram() {
      return state.phonesOnTelegram;
    },
    get balance() {
      return state.balance;
    },
    set balance(value) {
      state.balance = value;
    },
    get price() {
      return state.price;
    },
    set price(value) {
      state.price = value;
    },
    get mode() {
      return mode;
    },
    set mode(next) {
      mode = next;
    },
    autoReport: [],
    calls: [],
    messages: state.messages,
    reports: [],
    statusOf(requestId) {
      const status = state.requests.get(requestId)?.status;
      return status ? structuredClone(status) : undefined;
    },
    report: (requestId, status, reportOptions) => track(report(requestId, status, reportOptions)),
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    get connections() {
      return front.accepted;
    },
    down: () => front.refuse(),
    up: () => front.accept(),
    close() {
      closing ??= (async () => {
        await fake.settled();
        for (const release of [...waits]) release();
        const frontClosed = front.close();
        await server.shutdown();
        await frontClosed;
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return fake.close();
    },
  };
  return fake;
}
