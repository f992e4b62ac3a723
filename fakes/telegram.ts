/**
 * A fake Telegram Bot API on loopback: `POST /bot<token>/<method>` with JSON, form or multipart
 * bodies, answering `{ ok, result }` or `{ ok: false, error_code, description }` like
 * api.telegram.org does, so grammY pointed at it through `client.apiRoot` cannot tell. It can be
 * told to answer errors, stall, break the connection or stop listening.
 */

/** One request the fake received with the right token, in arrival order. */
export interface BotApiCall {
  method: string;
  payload: Record<string, unknown>;
  at: number;
}

/** One message the bot sent; kept after deletion so tests can see that it went away. */
export interface FakeMessage {
  message_id: number;
  chat_id: number;
  text: string;
  parse_mode?: string;
  entities?: unknown[];
  reply_markup?: unknown;
  date: number;
  deleted_at: number | null;
}

/**
 * A failure below the Bot API's own answers:
 * - `stall`: the call is received (and recorded) but never answered;
 * - `drop`: the method runs (a message is really sent), then the connection closes before the
 *   answer;
 * - `cut`: the method runs, then the connection closes halfway through the answer's body;
 * - `bad-gateway`: the method does not run and the answer is the HTML `502 Bad Gateway` page
 *   Telegram's front servers give while the Bot API is down.
 */
export type ConnectionFailure = "stall" | "drop" | "cut" | "bad-gateway";

/** A running fake Bot API. */
export interface FakeTelegram extends AsyncDisposable {
  apiRoot: string;
  token: string;
  bot: { id: number; username: string; first_name: string };
  calls: BotApiCall[];
  messages: FakeMessage[];
  webhook: { url: string; secret_token?: string; allowed_updates?: string[] } | null;
  /**
   * Make the next `times` calls of `method` fail with this error (Bot API error shape) or
   * connection failure; queued failures are used in order.
   */
  failNext(method: string, failure: InjectedFailure | ConnectionFailure, times?: number): void;
  /** Forgets the failures still queued (the Bot API works again). */
  clearFailures(): void;
  /** Stops listening (connecting is refused) or, with `false`, listens again on the same port. */
  refuseConnections(refusing?: boolean): void;
  /** Queue an update for getUpdates (update_id assigned if missing; returns the update). */
  pushUpdate(update: Record<string, unknown>): Record<string, unknown>;
  /** Messages sent to a chat that are not deleted. */
  visible(chatId: number): FakeMessage[];
  close(): Promise<void>;
}

/** How to start the fake; `port` 0 (the default) takes a free port. */
export interface FakeTelegramOptions {
  token?: string;
  port?: number;
  hostname?: string;
  username?: string;
  /** Sees every recorded call as it arrives, e.g. to log it. */
  onCall?: (call: BotApiCall) => void;
}

import { FAULT_HEADER, listenInFront, type RequestHead } from "./faulty_http.ts";
import { badRequest, BotApiError, type InjectedFailure, visibleText } from "./telegram_html.ts";
import { takeUpdateId } from "./telegram_updates.ts";

export type { InjectedFailure } from "./telegram_html.ts";
export { contactUpdate, textUpdate } from "./telegram_updates.ts";

type Payload = Record<string, unknown>;
type Method = (payload: Payload, req: Request) => unknown;
type WakeReason = "update" | "timeout" | "aborted" | "conflict" | "closed";

function failureResponse({ error_code, description, retry_after }: InjectedFailure): Response {
  const body: Payload = { ok: false, error_code, description };
  if (retry_after !== undefined) body.parameters = { retry_after };
  return Response.json(body, { status: error_code });
}

/** What Telegram's nginx answers while the Bot API behind it is down. */
function badGatewayResponse(): Response {
  const html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n" +
    "</body>\r\n</html>\r\n";
  return new Response(html, { status: 502, headers: { "content-type": "text/html" } });
}

// Update ids are module-wide so updates from several fakes and helpers never collide.
/** Starts the fake; a token like `7000000001:SECRET` makes 7000000001 the bot id, as on Telegram. */
export function startFakeTelegram(options: FakeTelegramOptions = {}): FakeTelegram {
  const token = options.token ?? "7000000001:TEST-fake-telegram-token";
  const hostname = options.hostname ?? "127.0.0.1";
  const botId = /^(\d+):/.exec(token)?.[1];
  const bot = {
    id: botId ? Number(botId) : 7_000_000_001,
    username: options.username ?? "doorman_test_bot",
    first_name: "Doorman Test",
  };
  const queue: Payload[] = [];
  const failures = new Map<string, (InjectedFailure | ConnectionFailure)[]>();
  const stalls = new Set<() => void>();
  const waiters = new Set<(reason: WakeReason) => void>();
  let nextMessageId = 1;
  let closing: Promise<void> | null = null;

  const botUser = () => ({ ...bot, is_bot: true });

  function waitForUpdate(ms: number, signal: AbortSignal): Promise<WakeReason> {
    return new Promise((resolve) => {
      const wake = (reason: WakeReason) => {
        if (!waiters.delete(wake)) return;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(reason);
      };
      const onAbort = () => wake("aborted");
      const timer = setTimeout(() => wake("timeout"), ms);
      waiters.add(wake);
      signal.addEventListener("abort", onAbort);
      if (signal.aborted || closing) wake(closing ? "closed" : "aborted");
    });
  }

  function wakeAll(reason: WakeReason) {
    for (const wake of [...waiters]) wake(reason);
  }

  const methods: Record<string, Method> = {
    getMe: () => ({
      ...botUser(),
      can_join_groups: false,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    }),
    sendMessage: (p) => {
      const chatId = chatIdOf(p);
      const text = p.text === undefined ? "" : String(p.text);
      const shown = visibleText(text, p.parse_mode);
      if (shown.trim() === "") throw badRequest("message text is empty");
      if (shown.length > 4096) throw badRequest("message is too long");
      const message: FakeMessage = {
        message_id: nextMessageId++,
        chat_id: chatId,
        text,
        date: Math.floor(Date.now() / 1000),
        deleted_at: null,
      };
      if (typeof p.parse_mode === "string") message.parse_mode = p.parse_mode;
      if (Array.isArray(p.entities)) message.entities = p.entities;
      if (p.reply_markup !== undefined) message.reply_markup = p.reply_markup;
      fake.messages.push(message);
      const sent: Payload = {
        message_id: message.message_id,
        from: botUser(),
        chat: { id: chatId, type: "private" },
        date: message.date,
        text: shown,
      };
      if (message.entities) sent.entities = message.entities;
      // Telegram echoes only inline keyboards; reply keyboards stay with the client.
      const markup = p.reply_markup as { inline_keyboard?: unknown } | undefined;
      if (markup?.inline_keyboard) sent.reply_markup = markup;
      return sent;
    },
    deleteMessage: (p) => {
      if (!deleteOne(chatIdOf(p), p.message_id)) throw badRequest("message to delete not found");
      return true;
    },
    deleteMessages: (p) => {
      const chatId = chatIdOf(p);
      const ids = p.message_ids;
      if (!Array.isArray(ids) || ids.length === 0) {
        throw badRequest("message identifiers are not specified");
      }
      if (ids.length > 100) throw badRequest("too many message identifiers specified");
      for (const id of ids) deleteOne(chatId, id);
      return true;
    },
    setWebhook: (p) => {
      const url = String(p.url ?? "");
      const secret = p.secret_token === undefined ? undefined : String(p.secret_token);
      if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
        throw badRequest("secret token contains unallowed characters");
      }
      if (p.drop_pending_updates === true) queue.length = 0;
      fake.webhook = url === "" ? null : { url };
      if (fake.webhook && secret !== undefined) fake.webhook.secret_token = secret;
      if (fake.webhook && Array.isArray(p.allowed_updates)) {
        fake.webhook.allowed_updates = p.allowed_updates.map(String);
      }
      // A webhook ends long polls the way a second bot instance would.
      if (fake.webhook) wakeAll("conflict");
      return true;
    },
    deleteWebhook: (p) => {
      if (p.drop_pending_updates === true) queue.length = 0;
      fake.webhook = null;
      return true;
    },
    getWebhookInfo: () => ({
      url: fake.webhook?.url ?? "",
      has_custom_certificate: false,
      pending_update_count: queue.length,
      ...(fake.webhook?.allowed_updates ? { allowed_updates: fake.webhook.allowed_updates } : {}),
    }),
    getUpdates: async (p, req) => {
      if (fake.webhook) throw webhookConflict();
      // Only one poller at a time: a new request ends the previous one with 409, as Telegram does.
      wakeAll("conflict");
      const offset = Number(p.offset ?? 0);
      const limit = Math.min(Math.max(Number(p.limit ?? 100) || 100, 1), 100);
      const timeout = Math.max(Number(p.timeout ?? 0) || 0, 0);
      if (offset < 0) queue.splice(0, Math.max(queue.length + offset, 0));
      else while (queue.length && Number(queue[0].update_id) < offset) queue.shift();
      if (queue.length === 0 && timeout > 0) {
        // req.signal is read only here: reading it makes Deno print a one-time legacy-abort notice.
        const reason = await waitForUpdate(timeout * 1000, req.signal);
        if (reason === "conflict") {
          if (fake.webhook) throw webhookConflict();
          throw new BotApiError({
            error_code: 409,
            description: "Conflict: terminated by other getUpdates request; " +
              "make sure that only one bot instance is running",
          });
        }
      }
      return queue.slice(0, limit);
    },
    setMyCommands: () => true,
    answerCallbackQuery: () => true,
    sendChatAction: () => true,
  };
  // Telegram matches method names case-insensitively.
  const canonical = new Map(Object.keys(methods).map((name) => [name.toLowerCase(), name]));
  const methodName = (name: string) => canonical.get(name.toLowerCase()) ?? name;

  function deleteOne(chatId: number, messageId: unknown): boolean {
    const target = fake.messages.find((m) =>
      m.chat_id === chatId && m.message_id === Number(messageId) && m.deleted_at === null
    );
    if (target) target.deleted_at = Date.now();
    return target !== undefined;
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const route = /^\/bot([^/]+)\/([^/]*)$/.exec(url.pathname);
    if (!route || (req.method !== "GET" && req.method !== "POST")) {
      await req.body?.cancel();
      return failureResponse({ error_code: 404, description: "Not Found" });
    }
    if (decodeURIComponent(route[1]) !== token) {
      await req.body?.cancel();
      return failureResponse({ error_code: 401, description: "Unauthorized" });
    }
    const call: BotApiCall = { method: methodName(route[2]), payload: {}, at: Date.now() };
    try {
      try {
        call.payload = await readPayload(req, url);
      } finally {
        fake.calls.push(call);
        options.onCall?.(call);
      }
      // A connection failure the front already took leaves the queue to the next call.
      const injected = req.headers.has(FAULT_HEADER)
        ? undefined
        : failures.get(call.method)?.shift();
      if (injected === "bad-gateway") return badGatewayResponse();
      if (injected === "stall") {
        await new Promise<void>((resolve) => {
          const release = () => {
            stalls.delete(release);
            resolve();
          };
          stalls.add(release);
          req.signal.addEventListener("abort", release);
        });
        return failureResponse({ error_code: 504, description: "Gateway Timeout" });
      }
      // (`drop` and `cut` are the front's; a request that reached here runs.)
      if (typeof injected === "object") throw new BotApiError(injected);
      const method = methods[call.method];
      if (!method) {
        throw new BotApiError({ error_code: 404, description: "Not Found: method not found" });
      }
      return Response.json({ ok: true, result: await method(call.payload, req) });
    } catch (error) {
      if (error instanceof BotApiError) return failureResponse(error.failure);
      throw error;
    }
  }

  /** `drop` and `cut` happen on the connection: the front takes them from the queue. */
  function connectionFault(head: RequestHead): "pass" | "drop" | "cut" {
    const route = /^\/bot([^/]+)\/([^/?]*)/.exec(head.target);
    if (!route || decodeURIComponent(route[1]) !== token) return "pass";
    const queued = failures.get(methodName(route[2]));
    const next = queued?.[0];
    if (next !== "drop" && next !== "cut") return "pass";
    queued!.shift();
    return next;
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  // Clients talk to the front, which breaks connections when a queued failure says so.
  const front = listenInFront(server.addr, {
    hostname,
    port: options.port ?? 0,
    decide: connectionFault,
  });
  const host = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
  const fake: FakeTelegram = {
    apiRoot: `http://${host}:${front.port}`,
    token,
    bot,
    calls: [],
    messages: [],
    webhook: null,
    failNext(method, failure, times = 1) {
      const name = methodName(method);
      const queued = failures.get(name) ?? [];
      for (let i = 0; i < times; i++) {
        queued.push(typeof failure === "string" ? failure : { ...failure });
      }
      failures.set(name, queued);
    },
    clearFailures() {
      failures.clear();
    },
    refuseConnections(refusing = true) {
      if (refusing) front.refuse();
      else front.accept();
    },
    pushUpdate(update) {
      const wanted = typeof update.update_id === "number" ? update.update_id : undefined;
      const queued = { ...update, update_id: takeUpdateId(wanted) };
      queue.push(queued);
      // Kept in id order so confirming by offset can drop from the front.
      queue.sort((a, b) => Number(a.update_id) - Number(b.update_id));
      wakeAll("update");
      return queued;
    },
    visible(chatId) {
      return fake.messages.filter((m) => m.chat_id === chatId && m.deleted_at === null);
    },
    close() {
      closing ??= (async () => {
        wakeAll("closed");
        for (const release of [...stalls]) release();
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

function webhookConflict(): BotApiError {
  return new BotApiError({
    error_code: 409,
    description: "Conflict: can't use getUpdates method while webhook is active; " +
      "use deleteWebhook to delete the webhook first",
  });
}

function chatIdOf(payload: Payload): number {
  const raw = payload.chat_id;
  if (raw === undefined || raw === "") throw badRequest("chat_id is empty");
  const id = Number(raw);
  // "@channel" names and other strings name no chat this fake knows.
  if (!Number.isSafeInteger(id) || id === 0) throw badRequest("chat not found");
  return id;
}

// Free text that merely looks like a number must stay a string, or "123" would arrive as 123.
const TEXT_FIELDS = new Set(["text", "caption", "parse_mode", "url", "secret_token", "action"]);

function decodeField(name: string, value: string): unknown {
  if (TEXT_FIELDS.has(name) || !/^(?:[[{\d-]|true$|false$)/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

async function readPayload(req: Request, url: URL): Promise<Payload> {
  const payload: Payload = {};
  for (const [name, value] of url.searchParams) payload[name] = decodeField(name, value);
  const type = req.headers.get("content-type") ?? "";
  if (req.method !== "POST" || !req.body) return payload;
  if (type.includes("application/json")) {
    const text = await req.text();
    if (text.trim() === "") return payload;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw badRequest("can't parse JSON");
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw badRequest("JSON object expected");
    }
    return { ...payload, ...body };
  }
  if (type.includes("multipart/form-data") || type.includes("application/x-www-form-urlencoded")) {
    for (const [name, value] of await req.formData()) {
      payload[name] = typeof value === "string" ? decodeField(name, value) : value;
    }
    return payload;
  }
  await req.body.cancel();
  return payload;
}
