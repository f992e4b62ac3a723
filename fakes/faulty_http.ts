/**
 * The socket side of the HTTP fakes: a loopback listener in front of a fake's `Deno.serve` that
 * passes every request through unchanged, or breaks the connection the way networks and
 * overloaded gateways do. `Deno.serve` always sends a status line before it can fail, so the
 * faults below the HTTP answer live here, on raw TCP:
 *
 * - `drop`: the request is passed on (the fake handles it, e.g. sends the message), then the
 *   connection closes before a single byte of the answer;
 * - `cut`: the same, but the status line and headers and part of the body are sent first;
 * - `hang`: the request is read and never answered; the connection stays open until the client
 *   gives up (or the fake closes);
 * - `refuse()`: nothing listens on the port any more (connecting fails with "connection
 *   refused") and open connections are closed; `accept()` listens on the same port again.
 *
 * Requests are framed (Content-Length or chunked), so the decision is made per request even on
 * a kept-alive connection.
 */

/** What happens to one request at the connection level. */
export type ConnectionFault = "pass" | "drop" | "cut" | "hang";

/** What the decision sees of a request. */
export interface RequestHead {
  method: string;
  /** Path and query, as sent. */
  target: string;
  headers: Headers;
}

/** The header a passed-on `drop`/`cut` request carries, so the fake can tell it was chosen. */
export const FAULT_HEADER = "x-fake-connection-fault";

/** A running front. */
export interface FaultyListener {
  readonly hostname: string;
  readonly port: number;
  /** True while nothing listens. */
  readonly refusing: boolean;
  /** Connections accepted so far (a kept-alive client opens one for many requests). */
  readonly accepted: number;
  /** Stops listening and closes every open connection: connecting is refused from now on. */
  refuse(): void;
  /** Listens again, on the same port. */
  accept(): void;
  /**
   * Stops listening and closes the connections it is hanging; the others end when the server
   * behind closes them (shut it down after calling this, then await the result).
   */
  close(): Promise<void>;
}

const CRLF = new Uint8Array([13, 10]);
const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
const MAX_HEAD = 64 * 1024;

/** Starts a front on `hostname:port` (port 0: a free one) for the server at `backend`. */
export function listenInFront(
  backend: { hostname: string; port: number },
  options: {
    hostname?: string;
    port?: number;
    /** Picks the fault for each request; every request passes without it. */
    decide?: (head: RequestHead) => ConnectionFault;
  } = {},
): FaultyListener {
  const hostname = options.hostname ?? "127.0.0.1";
  const decide = options.decide ?? (() => "pass");
  const tasks = new Set<Promise<void>>();
  const closers = new Set<() => void>();
  const hanging = new Set<() => void>();
  let listener: Deno.Listener | null = null;
  let port = options.port ?? 0;
  let closed = false;
  let accepted = 0;

  const track = (task: Promise<void>) => {
    const tracked = task.catch(() => {}).finally(() => tasks.delete(tracked));
    tasks.add(tracked);
  };

  const listen = () => {
    const opened = Deno.listen({ hostname, port });
    listener = opened;
    port = (opened.addr as Deno.NetAddr).port;
    track((async () => {
      try {
        for await (const conn of opened) {
          accepted++;
          track(serve(conn));
        }
      } catch {
        // The listener was closed.
      }
    })());
  };

  async function serve(client: Deno.Conn): Promise<void> {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: backend.hostname, port: backend.port });
    } catch {
      closeQuietly(client);
      return;
    }
    const close = () => {
      closeQuietly(client);
      closeQuietly(server);
    };
    closers.add(close);
    // The fault of the request in flight decides what happens to the answer that comes back.
    let fault: ConnectionFault = "pass";
    const answers = (async () => {
      let held = new Uint8Array(0);
      for (;;) {
        const chunk = await readChunk(server);
        if (chunk === null) break;
        if (fault === "pass") {
          if (!(await writeAll(client, chunk))) break;
          continue;
        }
        // The fake has handled the request (its answer is coming): now break the connection.
        if (fault === "drop") break;
        held = concat(held, chunk);
        const headEnd = indexOf(held, CRLFCRLF);
        if (headEnd < 0) continue;
        const bodyStart = headEnd + 4;
        const length = /^content-length:\s*(\d+)/im.exec(decode(held.subarray(0, headEnd)))?.[1];
        // Wait for some of the body unless there is none to wait for.
        if (held.length === bodyStart && length !== "0") continue;
        const cutAt = length === "0"
          ? Math.floor(headEnd / 2)
          : bodyStart + Math.floor((held.length - bodyStart) / 2);
        await writeAll(client, held.subarray(0, cutAt));
        break;
      }
      close();
    })();
    try {
      const reader = new Reader(client);
      for (;;) {
        const request = await readRequest(reader);
        if (request === null) break;
        fault = decide(request.head);
        if (fault === "hang") {
          // Read on until the client gives up; nothing is passed on or answered.
          hanging.add(close);
          while (await reader.fill());
          break;
        }
        const bytes = fault === "pass" ? request.bytes : withHeader(request, FAULT_HEADER, fault);
        if (!(await writeAll(server, bytes))) break;
      }
    } finally {
      close();
      closers.delete(close);
      hanging.delete(close);
      await answers;
    }
  }

  const front: FaultyListener = {
    hostname,
    get port() {
      return port;
    },
    get refusing() {
      return listener === null;
    },
    get accepted() {
      return accepted;
    },
    refuse() {
      listener?.close();
      listener = null;
      for (const close of [...closers]) close();
    },
    accept() {
      if (!closed && listener === null) listen();
    },
    async close() {
      closed = true;
      listener?.close();
      listener = null;
      for (const close of [...hanging]) close();
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
  };
  listen();
  return front;
}

/** Buffered reads of a connection. */
class Reader {
  #buffer = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  /** Reads more; false at the end of the stream. */
  async fill(): Promise<boolean> {
    const chunk = await readChunk(this.conn);
    if (chunk === null) return false;
    this.#buffer = concat(this.#buffer, chunk);
    return true;
  }

  /** Bytes up to and including `delimiter`; null if the stream ends first. */
  async through(delimiter: Uint8Array, max = MAX_HEAD): Promise<Uint8Array | null> {
    for (;;) {
      const at = indexOf(this.#buffer, delimiter);
      if (at >= 0) return this.take(at + delimiter.length);
      if (this.#buffer.length > max || !(await this.fill())) return null;
    }
  }

  /** Exactly `n` bytes; null if the stream ends first. */
  async exactly(n: number): Promise<Uint8Array | null> {
    while (this.#buffer.length < n) if (!(await this.fill())) return null;
    return this.take(n);
  }

  take(n: number): Uint8Array {
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }
}

interface FramedRequest {
  head: RequestHead;
  /** The head as received (up to, not including, its empty line). */
  headBytes: Uint8Array;
  /** The whole request as received. */
  bytes: Uint8Array;
}

/** One HTTP/1.1 request, framed by Content-Length or chunked encoding; null at the end. */
async function readRequest(reader: Reader): Promise<FramedRequest | null> {
  const headBytes = await reader.through(CRLFCRLF);
  if (headBytes === null) return null;
  const lines = decode(headBytes).split("\r\n");
  const [method = "", target = ""] = lines[0].split(" ");
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const parts: Uint8Array[] = [headBytes];
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    for (;;) {
      const sizeLine = await reader.through(CRLF);
      if (sizeLine === null) return null;
      parts.push(sizeLine);
      const size = parseInt(decode(sizeLine), 16);
      if (!Number.isFinite(size) || size === 0) {
        // Trailers, up to the empty line.
        for (;;) {
          const trailer = await reader.through(CRLF);
          if (trailer === null) return null;
          parts.push(trailer);
          if (trailer.length === 2) break;
        }
        break;
      }
      const data = await reader.exactly(size + 2);
      if (data === null) return null;
      parts.push(data);
    }
  } else {
    const length = Number(headers.get("content-length") ?? 0);
    if (length > 0) {
      const body = await reader.exactly(length);
      if (body === null) return null;
      parts.push(body);
    }
  }
  return {
    head: { method, target, headers },
    headBytes: headBytes.subarray(0, headBytes.length - 2),
    bytes: concat(...parts),
  };
}

/** The request with one more header line. */
function withHeader(request: FramedRequest, name: string, value: string): Uint8Array {
  const rest = request.bytes.subarray(request.headBytes.length);
  return concat(request.headBytes, new TextEncoder().encode(`${name}: ${value}\r\n`), rest);
}

async function readChunk(conn: Deno.Conn): Promise<Uint8Array | null> {
  const chunk = new Uint8Array(16 * 1024);
  try {
    const n = await conn.read(chunk);
    return n === null ? null : chunk.subarray(0, n);
  } catch {
    return null;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
    return true;
  } catch {
    return false;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
