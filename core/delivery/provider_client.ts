/**
 * A small HTTP/1.1 client for sending messages through providers: it keeps connections alive
 * (no TCP and TLS handshake per message) and never sends a request twice. `fetch` re-sends a
 * request when a kept-alive connection closes before the answer, and a provider that took the
 * first one sends (and bills) the message twice; here that failure is the caller's to report.
 *
 * Longer than the house's ~300 lines on purpose: framing, keep-alive, idle watching and the
 * never-twice rule are one protocol, and each half would be unreadable without the other.
 */

/** What a provider answered. */
export interface ProviderAnswer {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Map<string, string>;
  /**
   * The body as text; null when it was lost after the status and headers arrived (the
   * connection broke, the deadline passed, it was over 1 MiB or badly framed). The status
   * stands: a provider that answered 201 has taken the message, whatever happens to the rest.
   */
  body: string | null;
}

/** One request; `headers` must not repeat `host`, `content-length` or `connection`. */
export interface ProviderRequest {
  method: "POST" | "GET";
  /** Path and query, e.g. `/2010-04-01/Accounts/AC1/Messages.json`. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const MAX_HEAD = 64 * 1024;
const MAX_BODY = 1024 * 1024;
const BUFFER_SIZE = 16 * 1024;
const CRLF = new Uint8Array([13, 10]);
const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What sends one request to a provider and reads its answer. */
export interface ProviderSender {
  request(init: ProviderRequest, signal: AbortSignal): Promise<ProviderAnswer>;
  /** Closes its idle connections (at shutdown, and in tests). */
  close(): void;
}

/**
 * The sender for a provider at `url`: kept-alive connections of our own, unless a proxy setting
 * of the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, less `NO_PROXY`, as `fetch`
 * reads them) covers the URL — then `fetch` through it, a fresh connection per message, so
 * nothing can be sent twice there either.
 */
export function providerSender(
  url: string | URL,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): ProviderSender {
  const target = new URL(url);
  return proxied(target, env) ? new FetchSender(target) : new ProviderClient(target);
}

/** Whether the environment sends requests to `url` through a proxy. */
export function proxied(url: URL, env: (name: string) => string | undefined): boolean {
  const either = (name: string) => env(name) || env(name.toLowerCase()) || "";
  const proxy = either(url.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY") ||
    either("ALL_PROXY");
  if (proxy === "") return false;
  const host = url.hostname.toLowerCase();
  return !either("NO_PROXY").split(",").some((entry) => {
    const rule = entry.trim().toLowerCase().replace(/^\*?\./, "").replace(/:\d+$/, "");
    return rule === "*" || (rule !== "" && (host === rule || host.endsWith(`.${rule}`)));
  });
}

/** `fetch` on a fresh connection per request: what goes through a proxy. */
class FetchSender implements ProviderSender {
  readonly #origin: string;
  readonly #client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });

  constructor(url: URL) {
    this.#origin = url.origin;
  }

  async request(init: ProviderRequest, signal: AbortSignal): Promise<ProviderAnswer> {
    const response = await fetch(`${this.#origin}${init.path}`, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      signal,
      client: this.#client,
      redirect: "manual",
    });
    let body: string | null = null;
    try {
      body = await response.text();
    } catch {
      // Lost after the status: the status stands, as with the kept-alive client.
    }
    return { status: response.status, headers: new Map(response.headers), body };
  }

  close(): void {
    this.#client.close();
  }
}

/** Kept-alive connections to one origin (`http:` or `https:`, host, port). */
export class ProviderClient implements ProviderSender {
  readonly #hostname: string;
  readonly #port: number;
  readonly #host: string;
  readonly #tls: boolean;
  readonly #idleMs: number;
  readonly #maxIdle: number;
  readonly #caCerts?: string[];
  /** Most recently used last: the freshest connection is reused first. */
  readonly #idle: Connection[] = [];
  #closed = false;

  /**
   * `idleMs` (default 4 s) stays below common server keep-alive timeouts (Node's 5 s), so a
   * connection is rarely reused just as the server closes it. `caCerts` is for tests.
   */
  constructor(
    url: string | URL,
    options: { idleMs?: number; maxIdle?: number; caCerts?: string[] } = {},
  ) {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new TypeError(`Cannot send to a ${parsed.protocol} URL: only http: and https:`);
    }
    this.#tls = parsed.protocol === "https:";
    this.#hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
    this.#port = Number(parsed.port) || (this.#tls ? 443 : 80);
    this.#host = parsed.host;
    this.#idleMs = options.idleMs ?? 4_000;
    this.#maxIdle = options.maxIdle ?? 64;
    this.#caCerts = options.caCerts;
  }

  /**
   * Sends one request on an idle connection (or a new one) and reads the answer. Never sent
   * twice: once written, any failure before the answer's head rejects. A failure to connect
   * says "connect error" (nothing was sent). `signal` aborting closes the connection.
   */
  async request(init: ProviderRequest, signal: AbortSignal): Promise<ProviderAnswer> {
    signal.throwIfAborted();
    const message = encodeRequest(this.#host, init);
    const connection = this.#takeIdle() ??
      await untilAborted(this.#connect(), signal, (late) => late.close());
    const abort = () => connection.close();
    signal.addEventListener("abort", abort);
    try {
      signal.throwIfAborted();
      const { answer, reusable } = await connection.exchange(message);
      if (reusable && !signal.aborted) this.#keep(connection);
      else connection.close();
      return answer;
    } catch (error) {
      connection.close();
      throw error;
    } finally {
      signal.removeEventListener("abort", abort);
    }
  }

  /** Closes the idle connections, and from now on every connection once its answer is in. */
  close(): void {
    this.#closed = true;
    for (const connection of this.#idle.splice(0)) connection.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The newest idle connection, unless it has been idle too long (then so have the rest). */
  #takeIdle(): Connection | undefined {
    const now = performance.now();
    for (let connection; (connection = this.#idle.pop()) !== undefined;) {
      if (now - connection.idleSince <= this.#idleMs) return connection.wake();
      connection.close();
    }
  }

  #keep(connection: Connection): void {
    if (this.#closed || this.#maxIdle <= 0) return connection.close();
    if (this.#idle.length >= this.#maxIdle) this.#idle.shift()?.close();
    this.#idle.push(connection);
    // The server closed it (or sent something unasked): it is no use any more.
    connection.sleep(() => {
      const at = this.#idle.indexOf(connection);
      if (at >= 0) this.#idle.splice(at, 1);
      connection.close();
    });
  }

  async #connect(): Promise<Connection> {
    const [hostname, port] = [this.#hostname, this.#port];
    try {
      if (!this.#tls) return new Connection(await Deno.connect({ hostname, port }));
      const conn = await Deno.connectTls({ hostname, port, caCerts: this.#caCerts });
      // Handshake now, so a certificate problem counts as "not reached": nothing was sent.
      await conn.handshake().catch((error) => {
        conn.close();
        throw error;
      });
      return new Connection(conn);
    } catch (error) {
      throw new Error(`connect error: ${error instanceof Error ? error.message : error}`, {
        cause: error,
      });
    }
  }
}

/** One connection, its read buffer, and the read it has pending while idle. */
class Connection {
  idleSince = 0;
  #buffer = new Uint8Array(BUFFER_SIZE);
  #start = 0;
  #end = 0;
  /** The read in progress: started while idle, it carries on into the next answer. */
  #reading: Promise<number | null> | null = null;
  #idle = false;
  #closed = false;

  constructor(readonly conn: Deno.Conn) {}

  /** Waits idle with a read pending, so a close by the server is seen before reuse. */
  sleep(onWoken: () => void): void {
    this.#idle = true;
    this.idleSince = performance.now();
    if (this.#buffer.length > BUFFER_SIZE) this.#buffer = new Uint8Array(BUFFER_SIZE);
    this.#start = this.#end = 0;
    const reading = this.conn.read(this.#buffer);
    this.#reading = reading;
    // An idle connection does not keep the process alive.
    this.conn.unref();
    const woken = () => this.#idle && onWoken();
    reading.then(woken, woken);
  }

  wake(): this {
    this.#idle = false;
    this.conn.ref();
    return this;
  }

  close(): void {
    this.#idle = false;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Closed already.
    }
  }

  /** Writes the request, reads the answer; whether the connection can carry another one. */
  async exchange(message: Uint8Array): Promise<{ answer: ProviderAnswer; reusable: boolean }> {
    for (let at = 0; at < message.length;) at += await this.conn.write(message.subarray(at));
    let head = parseHead(await this.#through(CRLFCRLF, "the answer's head"));
    // Interim answers (100 Continue, 103 Early Hints) come before the real one.
    while (head.status < 200 && head.status !== 101) {
      head = parseHead(await this.#through(CRLFCRLF, "the answer's head"));
    }
    const { status, headers } = head;
    const connection = headers.get("connection")?.toLowerCase() ?? "";
    let reusable = head.http10 ? connection.includes("keep-alive") : !connection.includes("close");
    const encoding = headers.get("transfer-encoding");
    const length = headers.get("content-length");
    if (length !== undefined && !/^\d{1,15}$/.test(length)) throw malformed("Content-Length");
    let body: string | null = "";
    try {
      if (status === 101) reusable = false;
      else if (status === 204 || status === 304) body = "";
      else if (encoding !== undefined && /(^|,)\s*chunked\s*$/i.test(encoding)) {
        body = await this.#chunked();
      } else if (encoding === undefined && length !== undefined) {
        if (Number(length) > MAX_BODY) throw new Error("answer body over 1 MiB");
        body = decode(await this.#exactly(Number(length)));
      } else {
        reusable = false;
        body = decode(await this.#toEnd());
      }
    } catch {
      body = null;
      reusable = false;
    }
    // Bytes after the answer were not asked for: the connection's framing cannot be trusted.
    if (this.#end > this.#start) reusable = false;
    return { answer: { status, headers, body }, reusable };
  }

  async #chunked(): Promise<string> {
    const streaming = new TextDecoder(); // A character may straddle two chunks.
    let text = "";
    for (let total = 0;;) {
      const line = await this.#through(CRLF, "a chunk size");
      const size = /^([0-9a-fA-F]{1,8})[ \t]*(;.*)?$/.exec(line)?.[1];
      if (size === undefined) throw malformed("chunk size");
      const length = parseInt(size, 16);
      if (length === 0) break;
      if ((total += length) > MAX_BODY) throw new Error("answer body over 1 MiB");
      text += streaming.decode(await this.#exactly(length), { stream: true });
      if ((await this.#through(CRLF, "a chunk end")) !== "") throw malformed("chunk end");
    }
    // Trailers, up to the empty line.
    for (let lines = 0; (await this.#through(CRLF, "the trailers")) !== "";) {
      if ((lines += 1) > 100) throw malformed("trailers");
    }
    return text + streaming.decode();
  }

  /** Text up to `delimiter` (consumed, not returned); at most 64 KiB. */
  async #through(delimiter: Uint8Array, what: string): Promise<string> {
    for (let from = 0;;) {
      const view = this.#buffer.subarray(this.#start, this.#end);
      const at = indexOf(view, delimiter, from);
      if (at >= 0) {
        this.#start += at + delimiter.length;
        return decode(view.subarray(0, at));
      }
      if (view.length > MAX_HEAD) throw new Error(`${what} is over 64 KiB`);
      from = Math.max(0, view.length - delimiter.length + 1);
      if (!(await this.#fill())) throw new Error(`connection closed before ${what}`);
    }
  }

  async #exactly(length: number): Promise<Uint8Array> {
    while (this.#end - this.#start < length) {
      if (!(await this.#fill())) throw new Error("connection closed in the answer's body");
    }
    this.#start += length;
    return this.#buffer.subarray(this.#start - length, this.#start);
  }

  async #toEnd(): Promise<Uint8Array> {
    while (await this.#fill()) {
      if (this.#end - this.#start > MAX_BODY) throw new Error("answer body over 1 MiB");
    }
    const view = this.#buffer.subarray(this.#start, this.#end);
    this.#start = this.#end;
    return view;
  }

  /** Reads once more (or takes the pending idle read); false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#reading === null) {
      if (this.#end === this.#buffer.length) this.#makeRoom();
      this.#reading = this.conn.read(this.#buffer.subarray(this.#end));
    }
    try {
      const read = await this.#reading;
      if (read === null) return false;
      this.#end += read;
      return true;
    } finally {
      this.#reading = null;
    }
  }

  /** Moves unread bytes to the front, in a buffer twice as large when they fill half of it. */
  #makeRoom(): void {
    const unread = this.#end - this.#start;
    if (unread * 2 > this.#buffer.length) {
      const larger = new Uint8Array(this.#buffer.length * 2);
      larger.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = larger;
    } else this.#buffer.copyWithin(0, this.#start, this.#end);
    this.#start = 0;
    this.#end = unread;
  }
}

/** The request's bytes, head and body in one array, for one write. */
function encodeRequest(host: string, init: ProviderRequest): Uint8Array {
  if (!/^\/[^\s]*$/.test(init.path)) throw new TypeError("Cannot send a path with spaces");
  const body = init.body ?? "";
  let head = `${init.method} ${init.path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n` +
    `content-length: ${utf8Length(body)}\r\n`;
  for (const name in init.headers) {
    const value = init.headers[name];
    // The value is never quoted in the error: it may be a token.
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) throw new TypeError("Cannot send header");
    head += `${name}: ${value}\r\n`;
  }
  return encoder.encode(`${head}\r\n${body}`);
}

/** The UTF-8 length of `text`, as `TextEncoder` writes it (a lone surrogate: 3 bytes). */
function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) length += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2;
      i++;
    } else length += 2;
  }
  return length;
}

interface Head {
  http10: boolean;
  status: number;
  headers: Map<string, string>;
}

/** Status line and headers; the error never quotes them (they may hold secrets). */
function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const statusLine = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: .*)?$/.exec(lines[0]);
  if (statusLine === null) throw malformed("status line");
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    const name = lines[i].slice(0, colon);
    if (colon <= 0 || !TOKEN.test(name)) throw malformed("header line");
    const key = name.toLowerCase();
    const value = lines[i].slice(colon + 1).trim();
    const before = headers.get(key);
    headers.set(key, before === undefined ? value : `${before}, ${value}`);
  }
  return { http10: statusLine[1] === "0", status: Number(statusLine[2]), headers };
}

function malformed(part: string): Error {
  return new Error(`malformed answer: bad ${part}`);
}

function decode(bytes: Uint8Array): string {
  return bytes.length === 0 ? "" : decoder.decode(bytes);
}

function indexOf(bytes: Uint8Array, needle: Uint8Array, from: number): number {
  for (let at = bytes.indexOf(needle[0], from); at >= 0; at = bytes.indexOf(needle[0], at + 1)) {
    if (at + needle.length > bytes.length) return -1;
    let matched = 1;
    while (matched < needle.length && bytes[at + matched] === needle[matched]) matched++;
    if (matched === needle.length) return at;
  }
  return -1;
}

/** `promise`, or a rejection when `signal` aborts first (`discard` then gets the late value). */
function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  discard: (late: T) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", abort);
      if (signal.aborted) discard(value);
      else resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", abort);
      reject(error);
    });
  });
}
