import type { Logger } from "../core/log.ts";

/** What keeps serving does: stop accepting and let requests in flight finish. */
export interface Listener {
  shutdown(): Promise<void>;
  /** How many times the listener had to be started again. */
  readonly restarts: number;
}

/**
 * `Deno.serve` that keeps serving. When the process runs out of file descriptors, accepting
 * fails and `Deno.serve` gives up listening (its `finished` rejects; left alone, that rejection
 * ends the process). Here the failure is logged and the listener started again with a growing
 * pause, until descriptors are free again; connections already open are served meanwhile, and
 * new clients are refused rather than left hanging.
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

  const again = (error: unknown) => {
    if (stopping) return;
    restarts++;
    log.error("the HTTP listener failed: listening again shortly", {
      error: String(error),
      retry_in_ms: pauseMs,
      hint: /open files/i.test(String(error))
        ? "out of file descriptors: raise the open-files limit, or cap connections in front"
        : undefined,
    });
    timer = setTimeout(start, pauseMs);
    pauseMs = Math.min(2_000, pauseMs * 2);
  };

  function start() {
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
      }, handler);
      server = current;
      current.finished.catch(again);
    } catch (error) {
      // Binding itself needs a descriptor: out of them, it fails here.
      again(error);
    }
  }
  start();

  return {
    async shutdown() {
      stopping = true;
      clearTimeout(timer);
      await server?.shutdown();
    },
    get restarts() {
      return restarts;
    },
  };
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
