/**
 * The server of `deno task bench:scale` (bench/scale.ts), one process per shape:
 *
 *   deno run --allow-net --allow-read --allow-write --allow-env --v8-flags=--expose-gc \
 *     bench/scale_server.ts presence <dir> <users> <expiring>
 *   … bench/scale_server.ts sockets <dir> <socket users>
 *
 * - `presence`: seeds `users` online users straight into KV (bench/seed.ts; `expiring` of
 *   them silent past the timeout) and signs in an admin through the API. It answers
 *   `POST /__scale/sweep`: one run of the presence sweep, timed, with its KV operations.
 * - `sockets`: signs in `socket users` (10 sockets each is the API's most) and one watched
 *   user through the API, and writes the socket users' access tokens to `<dir>/tokens.txt`.
 *   It answers `POST /__scale/sign-in-watched` with a new sign-in of the watched user.
 *
 * Both answer `GET /__scale/memory` (after a full GC) and print one ready line on stdout:
 * `{"port", "admin"?, "watched"?}`.
 */
import type { AppContext } from "../core/context.ts";
import { countingKv, zeroCounts } from "./counting_kv.ts";
import { inParallel, phone, startDoorman } from "./doorman.ts";
import { seedOnlineUsers } from "./seed.ts";

/** Seeded users' phones start here, clear of the ones signed in through the API. */
const SEEDED_PHONES = 1_000_000;
/** Long enough that nobody expires while a shape runs; the expiring are seeded past it. */
const PRESENCE_TIMEOUT_SECONDS = 3_600;

const [mode, dir, ...rest] = Deno.args;
const counts = zeroCounts();
const kv = countingKv(await Deno.openKv(`${dir}/kv.sqlite`), counts);

/**
 * ═══ INTERNAL HOOK: core's presence sweep, as `Deno.cron` runs it every minute ═══
 * There is no HTTP way to trigger it. When the rewrite renames or moves it, change this.
 */
async function sweepOnce(ctx: AppContext): Promise<number> {
  const { sweepPresence } = await import("../core/presence/presence.ts");
  return await sweepPresence(ctx);
}

/** `Deno.memoryUsage()` after a full collection when `--expose-gc` is on. */
function memory(): Deno.MemoryUsage & { gc: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return { ...Deno.memoryUsage(), gc: gc !== undefined };
}

const control: Record<string, () => Promise<unknown>> = {
  "GET /__scale/memory": () => Promise.resolve(memory()),
};
let ready: Record<string, unknown> = {};

if (mode === "presence") {
  const [users, expiring] = rest.map(Number);
  const admin = phone(0);
  const doorman = await startDoorman(kv, {
    env: { ADMIN_PHONES: admin, PRESENCE_TIMEOUT_SECONDS: String(PRESENCE_TIMEOUT_SECONDS) },
  });
  const adminSignIn = await doorman.signIn(0);
  await seedOnlineUsers(kv, {
    count: users,
    expiring,
    now: Date.now(),
    timeoutMs: PRESENCE_TIMEOUT_SECONDS * 1000,
    phoneOf: (i) => phone(SEEDED_PHONES + i),
  });
  control["POST /__scale/sweep"] = async () => {
    Object.assign(counts, zeroCounts());
    const started = performance.now();
    const offline = await sweepOnce(doorman.ctx);
    const ms = performance.now() - started;
    return { ms, offline, kv: { ...counts } };
  };
  ready = { admin: adminSignIn.access };
  serve(doorman.fetch);
  doorman.startLogging();
} else if (mode === "sockets") {
  const [users] = rest.map(Number);
  // The watched user has no socket: only a long timeout keeps them online between rounds.
  const doorman = await startDoorman(kv, {
    env: { PRESENCE_TIMEOUT_SECONDS: String(PRESENCE_TIMEOUT_SECONDS) },
  });
  const signedIn = await inParallel("signing in socket users", users, (i) => doorman.signIn(1 + i));
  await Deno.writeTextFile(`${dir}/tokens.txt`, signedIn.map((u) => u.access).join("\n") + "\n");
  const watchedN = users + 1;
  control["POST /__scale/sign-in-watched"] = () => doorman.signIn(watchedN);
  ready = { watched: await doorman.signIn(watchedN) };
  serve(doorman.fetch);
  doorman.startLogging();
} else {
  throw new Error(`unknown mode "${mode}"`);
}

function serve(handler: Deno.ServeHandler<Deno.NetAddr>): void {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req, info) => {
      const action = control[`${req.method} ${new URL(req.url).pathname}`];
      return action ? Response.json(await action()) : await handler(req, info);
    },
  );
  console.log(JSON.stringify({ port: server.addr.port, ...ready }));
}
