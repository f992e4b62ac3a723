/**
 * Loaded with `deno run --preload` (`KV_GUARD_PRELOAD`) into a child process under test:
 * every KV the process opens is guarded, and each violation is printed to stderr with its
 * stack, where the test that started the process looks for it.
 */
import { guardKv, onKvViolation } from "./kv_guard.ts";

const open = Deno.openKv;
Object.defineProperty(Deno, "openKv", {
  configurable: true,
  enumerable: true,
  value: async (path?: string) => guardKv(await open(path)),
});
onKvViolation((violation) => console.error(violation.stack));
