import { retry } from "./retry.ts";

/** How long a KV Connect server that cannot be reached yet is waited for at start. */
const CONNECT_WITHIN_MS = 30_000;

/**
 * Whether `path` names a KV Connect server (a self-hosted denokv, or a Deno Deploy KV used
 * from outside) rather than a file: `Deno.openKv` takes the URL and reads the access token
 * from `DENO_KV_ACCESS_TOKEN` itself.
 */
export function isKvConnectUrl(path: string): boolean {
  return /^https?:\/\//i.test(path);
}

/**
 * Opens Deno KV: a file (its directory made first), `:memory:`, a KV Connect URL, or the
 * platform's own when `path` is undefined. Two processes opening one new file at once race
 * to create its tables, and the loser sees "database is locked": that is retried like any
 * locked write. A URL has neither a directory nor a lock; see `connect`.
 */
export async function openKv(
  path: string | undefined,
  options: { connectWithinMs?: number } = {},
): Promise<Deno.Kv> {
  if (path !== undefined && isKvConnectUrl(path)) {
    return await connect(path, options.connectWithinMs ?? CONNECT_WITHIN_MS);
  }
  if (path !== undefined && path !== ":memory:") {
    const dir = path.replace(/[^/\\]*$/, "");
    if (dir) await Deno.mkdir(dir, { recursive: true });
  }
  return await retry(`open KV at ${path ?? "the default location"}`, () => Deno.openKv(path));
}

/**
 * Opens a KV Connect URL. Deno makes the metadata exchange at once and does not retry it, and
 * a server started beside this process (compose starts them together) may not listen yet:
 * an unreachable server is tried again for `withinMs`. A refused token or any other answer
 * fails at once, with the server's own message.
 */
async function connect(url: string, withinMs: number): Promise<Deno.Kv> {
  const started = Date.now();
  for (let n = 0;; n++) {
    try {
      return await Deno.openKv(url);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!/failed to connect|error sending request/i.test(message)) throw error;
      if (Date.now() - started >= withinMs) {
        throw new Error(`Cannot open KV at ${url}: not reachable within ${withinMs} ms`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** n)));
    }
  }
}
