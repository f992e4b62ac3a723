/**
 * A raw HTTP/1.1 server on loopback whose answers are scripted byte for byte, for testing an
 * HTTP client's framing and connection handling: it counts the connections it accepted, the
 * requests each carried, and the connections the client closed.
 */

/**
 * What the server does with one request:
 * - `answer`: writes the bytes (a list: piece by piece, with a short pause between pieces),
 *   then keeps the connection (`keep`, the default), closes it (`close`), or closes it after
 *   `closeAfterMs` (a server's keep-alive timeout);
 * - `drop`: closes the connection without a byte of answer;
 * - `hang`: never answers, and waits for the client to close.
 */
export type Reply =
  | {
    answer: string | (string | Uint8Array)[];
    then?: "keep" | "close" | { closeAfterMs: number };
  }
  | "drop"
  | "hang";

/** A request as received. */
export interface ReceivedRequest {
  /** Which accepted connection carried it, from 1. */
  connection: number;
  method: string;
  path: string;
  /** The head's lines after the request line. */
  headerLines: string[];
  body: string;
}

/** A running scripted server. */
export interface ScriptedServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** Connections accepted. */
  readonly accepted: number;
  /** Connections the client closed (or reset) while the server still had them open. */
  readonly endedByClient: number;
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `HTTP/1.1 <status>` with a Content-Length body and extra header lines. */
export function answer(status: number, body = "", headers: string[] = []): string {
  return [`HTTP/1.1 ${status} X`, `content-length: ${encoder.encode(body).length}`, ...headers]
    .join("\r\n") + `\r\n\r\n${body}`;
}

/** Starts a server on `listener` (default: plain TCP on a free loopback port). */
export function startScriptedServer(
  reply: (request: ReceivedRequest, index: number) => Reply | Promise<Reply>,
  options: { listener?: Deno.Listener; scheme?: "http" | "https" } = {},
): ScriptedServer {
  const listener = options.listener ?? Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let accepted = 0;
  let endedByClient = 0;
  let closing = false;
  const clientEnded = () => {
    if (!closing) endedByClient++;
  };
  const received: ReceivedRequest[] = [];

  async function serve(conn: Deno.Conn, connection: number): Promise<void> {
    let buffered = new Uint8Array(0);
    /** Reads more; false when the client closed. */
    const fill = async () => {
      const chunk = new Uint8Array(64 * 1024);
      const read = await conn.read(chunk).catch(() => null);
      if (read === null) return false;
      buffered = concat(buffered, chunk.subarray(0, read));
      return true;
    };
    try {
      for (;;) {
        let headEnd = -1;
        while ((headEnd = decoder.decode(buffered).indexOf("\r\n\r\n")) < 0) {
          if (!(await fill())) return clientEnded();
        }
        const [requestLine, ...headerLines] = decoder.decode(buffered.subarray(0, headEnd))
          .split("\r\n");
        const length = Number(
          headerLines.find((line) => /^content-length:/i.test(line))?.split(":")[1] ?? 0,
        );
        while (buffered.length < headEnd + 4 + length) {
          if (!(await fill())) return clientEnded();
        }
        const [method, path] = requestLine.split(" ");
        const body = decoder.decode(buffered.subarray(headEnd + 4, headEnd + 4 + length));
        buffered = buffered.slice(headEnd + 4 + length);
        const request = { connection, method, path, headerLines, body };
        received.push(request);
        const what = await reply(request, received.length - 1);
        if (what === "drop") return;
        if (what === "hang") {
          while (await fill());
          return clientEnded();
        }
        const pieces = typeof what.answer === "string" ? [what.answer] : what.answer;
        for (const [i, piece] of pieces.entries()) {
          if (i > 0) await delay(2);
          await writeAll(conn, typeof piece === "string" ? encoder.encode(piece) : piece);
        }
        if (what.then === "close") return;
        if (typeof what.then === "object") return await delay(what.then.closeAfterMs);
      }
    } catch {
      // The client reset the connection, or the server was closed.
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed by close().
      }
    }
  }

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        open.add(conn);
        const task = serve(conn, ++accepted).finally(() => tasks.delete(task));
        tasks.add(task);
      }
    } catch {
      // The listener was closed.
    }
  })();

  const server: ScriptedServer = {
    url: `${options.scheme ?? "http"}://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    get endedByClient() {
      return endedByClient;
    },
    received,
    async close() {
      closing = true;
      listener.close();
      await accepting;
      for (const conn of open) conn.close();
      open.clear();
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
    async [Symbol.asyncDispose]() {
      await server.close();
    },
  };
  return server;
}

/** Waits, for real: for a server to act after the client is done. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds (or 2 s pass, then fails with `what`). */
export async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 2_000) throw new Error(`never happened: ${what}`);
    await delay(5);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
