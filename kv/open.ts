import { retry } from "./retry.ts";

/**
 * Opens Deno KV (a file, `:memory:`, a KV Connect URL, or the platform's own when `path` is
 * undefined). Two processes opening one new file at once race to create its tables, and the
 * loser sees "database is locked": that is retried like any locked write.
 */
export function openKv(path: string | undefined): Promise<Deno.Kv> {
  return retry(`open KV at ${path ?? "the default location"}`, () => Deno.openKv(path));
}
