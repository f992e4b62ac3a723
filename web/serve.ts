import { AppError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

/** Seconds a request refused while draining is told to wait (another instance takes it). */
const DRAIN_RETRY_AFTER_S = 1;

/** What keeps serving does: stop accepting and let requests in flight finish. */
export interface Listener {
  /**
   * Drains: requests already begun finish (their bodies still arriving too), new ones are
   * answered 503 `SHUTTING_DOWN`; then the listener closes. Callers bound how long they wait.
   */
  shutdown(): Promise<void>;
  /** How many times the listener had to be started again. */
  readonly restarts: number;
}

/**
 * `Deno.serve` that keeps serving. When the process runs out of file descriptors, accepting
 * fails and `Deno.serve` gives up listening (its `finished` rejects; left alone, that rejection
 * ends the process). Here the failure is logged and the listener started again with a growing
 * pause, until descriptors are free again; connections already open are served meanwhile, and
 * new clients are refused rather than left hanging. Only the first listen fails for good (it
 * throws): a port already in use, or one this process may not take, is a mistake to say at once.
 *
 * `Deno.serve`'s own shutdown cuts the body of a request still arriving (reading it throws,
 * which reads as malformed JSON): so shutting down first waits for every request begun, and
 * only then closes the server.
 */
export function serveForever(
  options: { port: number; hostname?: string; onListen?: (addr: Deno.NetAddr) => void },
  handler: Deno.ServeHandler<Deno.NetAddr>,
  log: Logger,
): Listener {
  let server: Deno.HttpServer<Deno.NetAddr> | null = null;
  let stopping = false;
  let restarts = 0;
  let pauseMs = 100;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Port 0 picks a port once: listening again keeps it.
  let port = options.port;
  let inFlight = 0;
  let idle: (() => void) | null = null;

  const serve: Deno.ServeHandler<Deno.NetAddr> = async (request, info) => {
    if (stopping) return shuttingDown();
    inFlight++;
    try {
      return await handler(request, info);
    } finally {
      if (--inFlight === 0) idle?.();
    }
  };

  const outOfFiles = (error: unknown) => /open files/i.test(String(error));
  const again = (error: unknown) => {
    if (stopping) return;
    restarts++;
    log.error("the HTTP listener failed: listening again shortly", {
      error: String(error),
      retry_in_ms: pauseMs,
      hint: outOfFiles(error)
        ? "out of file descriptors: raise the open-files limit, or cap connections in front"
        : undefined,
    });
    timer = setTimeout(() => start(), pauseMs);
    pauseMs = Math.min(2_000, pauseMs * 2);
  };

  function start(first = false) {
    if (stopping) return;
    try {
      const current = Deno.serve({
        port,
        hostname: options.hostname,
        onListen: (addr) => {
          pauseMs = 100;
          port = addr.port;
          if (restarts === 0) options.onListen?.(addr);
          else log.info("the HTTP listener is back", { restarts });
        },
      }, serve);
      server = current;
      current.finished.catch(again);
    } catch (error) {
      // Binding itself needs a descriptor: out of them, it fails here.
      if (first && !outOfFiles(error)) throw error;
      again(error);
    }
  }
  start(true);

  return {
    async shutdown() {
      stopping = true;
      clearTimeout(timer);
      if (inFlight > 0) await new Promise<void>((resolve) => idle = resolve);
      await server?.shutdown();
    },
    get restarts() {
      return restarts;
    },
  };
}

/** 503 to a request that came after the stop signal: it goes elsewhere, on a new connection. */
function shuttingDown(): Response {
  const error = new AppError(
    "SHUTTING_DOWN",
    `This instance is shutting down. Try again in ${DRAIN_RETRY_AFTER_S} s.`,
    { retry_after: DRAIN_RETRY_AFTER_S },
  );
  return Response.json(error.toBody(), {
    status: error.status,
    headers: {
      "retry-after": String(DRAIN_RETRY_AFTER_S),
      "cache-control": "no-store",
      connection: "close",
    },
  });
}

/** The process's open-files limit (soft, hard) from /proc, or null where there is none. */
export async function openFilesLimit(): Promise<{ soft: number; hard: number } | null> {
  try {
    const text = await Deno.readTextFile("/proc/self/limits");
    const match = text.match(/^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m);
    if (!match) return null;
    const value = (s: string) => s === "unlimited" ? Infinity : Number(s);
    return { soft: value(match[1]), hard: value(match[2]) };
  } catch {
    return null;
  }
}
