/**
 * The WebSocket clients of `deno task bench:scale`, in their own process (and core) so the
 * server's numbers are its own:
 *
 *   deno run --allow-net --allow-read bench/scale_clients.ts <port> <tokens file> <sockets> \
 *     <rounds> <watched sign-in as JSON>
 *
 * Opens `sockets` sockets, each with a ticket asked with a token (round-robin, at most 10 per
 * user as the API allows, at most 16 opening at once), subscribes each to the watched user,
 * and reads the server's memory before and after.
 * Then, `rounds` times, logs the watched user out and times the offline push reaching every
 * socket, and signs them in again (through the server's control endpoint) and times that
 * push too. Then, `rounds` times more, the watched user hides (`PATCH /api/v1/me`
 * `presence_visibility: "nobody"`: every subscriber gets `offline`, never seen) and shows again
 * (`"everyone"`: `online`), each push timed the same way. Prints one JSON line on stdout;
 * progress goes to stderr.
 */
import type { SignedIn } from "./doorman.ts";

const [portArg, tokensFile, socketsArg, roundsArg, watchedArg] = Deno.args;
const base = `http://127.0.0.1:${portArg}`;
const sockets = Number(socketsArg);
const rounds = Number(roundsArg);
let watched = JSON.parse(watchedArg) as SignedIn;
const tokens = (await Deno.readTextFile(tokensFile)).split("\n").filter(Boolean);

/** Sockets opening at once (each asks for its ticket first). */
const OPENING = 16;
/** How long one socket may take to be ready, and one push to reach every socket. */
const TIMEOUT_MS = 60_000;

/** One subscriber: when the status it waits for arrived (ms, this process's clock). */
interface Subscriber {
  ws: WebSocket;
  want: string | null;
  at: number | null;
}

let arrived = 0;
let onAllArrived: (() => void) | null = null;
let closedEarly = 0;

/** A single-use ticket for a socket of `token`'s sign-in. */
async function ticketOf(token: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/presence/ws-ticket`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`ticket refused: ${res.status} ${await res.text()}`);
  return (await res.json()).ticket;
}

async function open(i: number): Promise<Subscriber> {
  const ticket = await ticketOf(tokens[i % tokens.length]);
  return await new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${portArg}/api/v1/presence/ws?ticket=${ticket}`);
    const sub: Subscriber = { ws, want: null, at: null };
    let subscribed = false;
    const timer = setTimeout(() => reject(new Error(`socket ${i} not ready in time`)), TIMEOUT_MS);
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "ready") {
        ws.send(JSON.stringify({ type: "subscribe", user_ids: [watched.userId] }));
      } else if (message.type === "presence" && message.user_id === watched.userId) {
        if (!subscribed) {
          // The answer to `subscribe`: the watched user's presence now.
          subscribed = true;
          clearTimeout(timer);
          resolve(sub);
        } else if (sub.want === message.status && sub.at === null) {
          sub.at = performance.now();
          if (++arrived === sockets) onAllArrived?.();
        }
      }
    };
    ws.onclose = (event) => {
      clearTimeout(timer);
      if (!subscribed) reject(new Error(`socket ${i} closed: ${event.code} ${event.reason}`));
      else closedEarly++;
    };
    ws.onerror = () => {};
  });
}

async function serverMemory(): Promise<{ rss: number; heapUsed: number; gc: boolean }> {
  return await (await fetch(`${base}/__scale/memory`)).json();
}

/** Waits until every socket got the status `want`; times from `start()`'s call. */
async function timePush(subs: Subscriber[], want: string, start: () => Promise<void>) {
  arrived = 0;
  for (const sub of subs) {
    sub.want = want;
    sub.at = null;
  }
  const all = new Promise<void>((resolve) => onAllArrived = resolve);
  const t0 = performance.now();
  await start();
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS))]);
  const times = subs.map((s) => s.at === null ? null : s.at - t0).filter((t) => t !== null)
    .sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))];
  return {
    p50: pct(0.5),
    p99: pct(0.99),
    max: times[times.length - 1],
    missing: subs.length - times.length,
  };
}

const before = await serverMemory();
const opened = performance.now();
const subs: Subscriber[] = new Array(sockets);
let next = 0;
let lastReport = opened;
await Promise.all(Array.from({ length: Math.min(OPENING, sockets) }, async () => {
  while (next < sockets) {
    const i = next++;
    subs[i] = await open(i);
    if (performance.now() - lastReport > 2_000) {
      lastReport = performance.now();
      console.error(`  sockets: ${i + 1}/${sockets} authenticated and subscribed`);
    }
  }
}));
const openSeconds = (performance.now() - opened) / 1000;
console.error(`  sockets: ${sockets} authenticated and subscribed in ${openSeconds.toFixed(1)} s`);
const after = await serverMemory();

const results = [];
for (let round = 0; round < rounds; round++) {
  const offline = await timePush(subs, "offline", async () => {
    const response = await fetch(`${base}/api/v1/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${watched.access}`, "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: watched.refresh }),
    });
    await response.body?.cancel();
    if (response.status !== 204) throw new Error(`logout answered ${response.status}`);
  });
  const online = await timePush(subs, "online", async () => {
    watched = await (await fetch(`${base}/__scale/sign-in-watched`, { method: "POST" })).json();
  });
  console.error(
    `  round ${round + 1}: offline push p99 ${offline.p99?.toFixed(1)} ms, online push p99 ${
      online.p99?.toFixed(1)
    } ms`,
  );
  results.push({ offline, online });
}

/** The watched user's `presence_visibility`, set through the API. */
async function setVisibility(visibility: "nobody" | "everyone"): Promise<void> {
  const response = await fetch(`${base}/api/v1/me`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${watched.access}`, "content-type": "application/json" },
    body: JSON.stringify({ presence_visibility: visibility }),
  });
  await response.body?.cancel();
  if (response.status !== 200) throw new Error(`PATCH /api/v1/me answered ${response.status}`);
}

const visibility = [];
for (let round = 0; round < rounds; round++) {
  const hide = await timePush(subs, "offline", () => setVisibility("nobody"));
  const show = await timePush(subs, "online", () => setVisibility("everyone"));
  console.error(
    `  visibility round ${round + 1}: hide push p99 ${hide.p99?.toFixed(1)} ms, show push p99 ${
      show.p99?.toFixed(1)
    } ms`,
  );
  visibility.push({ hide, show });
}

console.log(
  JSON.stringify({
    sockets,
    openSeconds,
    before,
    after,
    rounds: results,
    visibility,
    closedEarly,
  }),
);
for (const sub of subs) sub.ws.close();
Deno.exit(0);
