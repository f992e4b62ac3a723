/**
 * Run by ws_fuzz_test.ts in a process of its own (`--v8-flags=--expose-gc`, so that what stays
 * on the heap can be told from garbage): signed-in sockets subscribe to and unsubscribe from
 * generated ids, then close. Prints `{ ids, retainedBytes }` as JSON: the heap still held,
 * after a full GC, once every socket is gone, minus a baseline of the same churn over the same
 * few ids.
 *
 *   deno run -A --v8-flags=--expose-gc tests/fuzz/socket_churn.ts <sockets> <seed>
 */
import fc from "fast-check";
import { serveHarness, startHarness, ticketUrl, waitFor } from "../helpers.ts";

const gc = (globalThis as unknown as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

const sockets = Number(Deno.args[0] ?? "30");
const seed = Number(Deno.args[1] ?? "1");
/** Ids per message: 100 ids of up to 36 characters stay under the 4 KiB message limit. */
const PER_MESSAGE = 100;
/** Subscribe and unsubscribe pairs per socket: 60 messages, the most a socket may send. */
const PAIRS = 29;

await using h = await startHarness({
  env: { OTP_IP_RATE_LIMIT_PER_HOUR: "1000000", SMS_PREFIX_AUTOBLOCK: "false" },
});
await using server = serveHarness(h);
const session = await h.signIn("+14155550100");
const idArb = fc.stringMatching(/^[A-Za-z0-9_-]{20,36}$/);

/** One socket (a ticket), PAIRS × (subscribe 100 ids, unsubscribe them), a ping, then close. */
async function churn(ids: (pair: number) => string[]): Promise<void> {
  const ws = new WebSocket(await ticketUrl(h, server.wsUrl, session.access_token));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let pongs = 0;
  const done = new Promise<void>((resolve) => {
    ws.onmessage = (event) => {
      if (String(event.data).includes('"pong"') && ++pongs === 1) resolve();
    };
  });
  const closed = new Promise((resolve) => ws.onclose = resolve);
  for (let pair = 0; pair < PAIRS; pair++) {
    const batch = ids(pair);
    ws.send(JSON.stringify({ type: "subscribe", user_ids: batch }));
    ws.send(JSON.stringify({ type: "unsubscribe", user_ids: batch }));
  }
  ws.send('{"type":"ping"}');
  await done;
  ws.close(1000);
  await closed;
}

async function settle(): Promise<number> {
  await waitFor(() => h.ctx.presence.hub.size === 0, 5_000);
  // Let the presence cache's entries age out (1 s), then make it drop them.
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  await churn(() => ["settle"]);
  await waitFor(() => h.ctx.presence.hub.size === 0, 5_000);
  for (let i = 0; i < 3; i++) gc!();
  return Deno.memoryUsage().heapUsed;
}

const same = fc.sample(fc.uniqueArray(idArb, { minLength: PER_MESSAGE, maxLength: PER_MESSAGE }), {
  numRuns: 1,
  seed,
})[0];
// Baseline: the same churn over the same 100 ids.
for (let i = 0; i < 3; i++) await churn(() => same);
const base = await settle();
for (let i = 0; i < sockets; i++) await churn(() => same);
const afterSame = await settle();
// Then over ids seen once each: generated stems, made unique by a counter.
const stems = fc.sample(fc.stringMatching(/^[A-Za-z0-9_-]{12,28}$/), {
  numRuns: 97,
  seed: seed + 1,
});
const fresh = Array.from(
  { length: sockets * PAIRS * PER_MESSAGE },
  (_, i) => `${stems[i % stems.length]}-${i.toString(36)}`,
);
let next = 0;
for (let i = 0; i < sockets; i++) {
  await churn(() => fresh.slice(next, next += PER_MESSAGE));
}
const afterFresh = await settle();
console.log(JSON.stringify({
  ids: new Set(fresh).size,
  retainedBytes: (afterFresh - afterSame) - Math.max(0, afterSame - base),
}));
