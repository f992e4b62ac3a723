/**
 * Scale shapes: `deno task bench:scale [--only presence,sockets] [--users 100000]
 * [--expiring 1000] [--sockets 10000] [--rounds 5] [--samples 20]` (bench/README.md).
 *
 * Not throughput but size: what Doorman costs with many users online and many sockets open.
 * Each shape gets a fresh server (bench/scale_server.ts) over a fresh KV file, on core 0.
 *
 * 1. `presence` — 100,000 users online, 1,000 of them silent past the timeout:
 *    - the online count (`GET /api/v1/admin/stats`) and the first page of the admin user
 *      list (online, all, offline), latency over `samples` sequential requests;
 *    - one presence sweep (what `Deno.cron` runs every minute): time, users taken offline,
 *      KV commits and reads; then a second sweep with nobody left to expire.
 *    The users are seeded straight into KV (bench/seed.ts, which must follow kv/keys.ts) and
 *    the sweep is core's own function (the one internal hook, in bench/scale_server.ts).
 * 2. `sockets` — 10,000 authenticated WebSockets (10 per user, the API's most), opened by a
 *    client process on core 1 (bench/scale_clients.ts), all subscribed to one user:
 *    - the server's RSS (and JS heap) per socket, after a full GC before and after;
 *    - the time for one presence change of the watched user (logout → offline, sign-in →
 *      online) to reach every subscriber: p50, p99 and the last one, per round;
 *    - likewise for one change of the watched user's visibility (nobody → every subscriber
 *      gets `offline`, never seen; everyone → `online`).
 *    Every socket is a file descriptor on both sides: the children run under a raised
 *    `ulimit -n` when the hard limit is too low (see `fdLimitPrefix`).
 */
import { load, machineLines, ROOT } from "./machine.ts";
import { type Child, startChild } from "./process.ts";
import { output, runs } from "./wrk.ts";

const options = parseOptions(Deno.args);
const SERVER_CORE = 0;
const CLIENT_CORE = 1;

interface Latency {
  p50: number;
  p99: number;
  max: number;
}

if (import.meta.main) await main();

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = await load();
  const pinned = navigator.hardwareConcurrency >= 2 && await runs("taskset", ["-V"]);
  const sections: string[] = [];
  const failures: string[] = [];
  for (const [name, shape] of [["presence", presenceShape], ["sockets", socketsShape]] as const) {
    if (options.only && !options.only.includes(name)) continue;
    console.error(`[${name}]`);
    try {
      sections.push(...await shape(pinned));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`  failed: ${message}`);
      failures.push(`- ${name}: ${message.split("\n")[0]}`);
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  console.log([
    "",
    `## Doorman scale shapes, ${new Date().toISOString()}`,
    "",
    `- command: \`deno task bench:scale${Deno.args.length ? " " + Deno.args.join(" ") : ""}\` (${
      elapsed.toFixed(0)
    } s in all)`,
    ...await machineLines(loadBefore, { wrk: false }),
    `- server on core ${pinned ? SERVER_CORE : "any"}, clients on core ${
      pinned ? CLIENT_CORE : "any"
    }, a fresh server and KV file per shape`,
    ...sections,
    ...(failures.length > 0 ? ["", "Failed:", "", ...failures] : []),
  ].join("\n"));
  if (failures.length > 0) Deno.exit(1);
}

/** 100,000 users online: the online count, the admin list's first page, the sweep. */
async function presenceShape(pinned: boolean): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "doorman-scale-" });
  const server = await startChild<{ port: number; admin: string }>([
    ...(pinned ? ["taskset", "-c", String(SERVER_CORE)] : []),
    ...serverDeno(),
    "presence",
    dir,
    String(options.users),
    String(options.expiring),
  ], ROOT);
  try {
    const base = `http://127.0.0.1:${server.ready.port}`;
    const admin = { authorization: `Bearer ${server.ready.admin}` };
    const get = async (path: string) => {
      const response = await fetch(`${base}${path}`, { headers: admin });
      if (!response.ok) throw new Error(`${path} answered ${response.status}`);
      return await response.json();
    };
    const online = async () => (await get("/api/v1/admin/stats")).users.online as number;

    const rows: string[][] = [];
    const onlineBefore = await online();
    rows.push([
      "online count, `GET /api/v1/admin/stats`",
      `${onlineBefore} online; ${formatLatency(await sample(() => get("/api/v1/admin/stats")))}`,
    ]);
    for (const status of ["online", "all", "offline"]) {
      const path = `/api/v1/admin/users?status=${status}&limit=50`;
      let shown = 0;
      const latency = await sample(async () => shown = (await get(path)).users.length);
      rows.push([`first page, \`GET ${path}\``, `${shown} users; ${formatLatency(latency)}`]);
    }
    for (const label of [`${options.expiring} expiring`, "none left expiring"]) {
      const sweep = await control(base, "sweep") as {
        ms: number;
        offline: number;
        kv: { commits: number; conflicts: number; reads: number; keysRead: number };
      };
      rows.push([
        `presence sweep, ${label}`,
        `${
          (sweep.ms / 1000).toFixed(2)
        } s; ${sweep.offline} taken offline; ${sweep.kv.commits} commits (${sweep.kv.conflicts} conflicts), ${sweep.kv.reads} reads (${sweep.kv.keysRead} keys)`,
      ]);
      console.error(`  sweep (${label}): ${(sweep.ms / 1000).toFixed(2)} s`);
    }
    rows.push(["online count after the sweeps", `${await online()} (was ${onlineBefore})`]);
    return [
      "",
      `### ${options.users} users online, ${options.expiring} of them silent past the timeout`,
      "",
      `Latencies: ${options.samples} sequential requests each, after 3 unmeasured ones.`,
      "",
      "| measure | result |",
      "| --- | --- |",
      ...rows.map(([measure, result]) => `| ${measure} | ${result} |`),
    ];
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** 10,000 authenticated sockets: memory per socket, and one change reaching them all. */
async function socketsShape(pinned: boolean): Promise<string[]> {
  const users = Math.ceil(options.sockets / 10);
  const fdPrefix = await fdLimitPrefix(options.sockets + 2_048);
  const dir = await Deno.makeTempDir({ prefix: "doorman-scale-" });
  let server: Child<{ port: number; watched: unknown }> | null = null;
  let clients: Child<ClientsResult> | null = null;
  try {
    server = await startChild([
      ...fdPrefix,
      ...(pinned ? ["taskset", "-c", String(SERVER_CORE)] : []),
      ...serverDeno(),
      "sockets",
      dir,
      String(users),
    ], ROOT);
    clients = await startChild<ClientsResult>([
      ...fdPrefix,
      ...(pinned ? ["taskset", "-c", String(CLIENT_CORE)] : []),
      "deno",
      "run",
      "--allow-net",
      "--allow-read",
      "bench/scale_clients.ts",
      String(server.ready.port),
      `${dir}/tokens.txt`,
      String(options.sockets),
      String(options.rounds),
      JSON.stringify(server.ready.watched),
    ], ROOT);
    const result = clients.ready;
    const kib = (bytes: number) => (bytes / 1024).toFixed(1);
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    const perSocket = (key: "rss" | "heapUsed") =>
      kib((result.after[key] - result.before[key]) / result.sockets);
    const rounds = result.rounds.map((round, i) =>
      `| ${i + 1} | ${formatLatency(round.offline)}${missing(round.offline)} | ${
        formatLatency(round.online)
      }${missing(round.online)} |`
    );
    const p99s = result.rounds.map((round) => round.offline.p99).sort((a, b) => a - b);
    const hideP99s = result.visibility.map((round) => round.hide.p99).sort((a, b) => a - b);
    const visibilityRounds = result.visibility.map((round, i) =>
      `| ${i + 1} | ${formatLatency(round.hide)}${missing(round.hide)} | ${
        formatLatency(round.show)
      }${missing(round.show)} |`
    );
    return [
      "",
      `### ${result.sockets} authenticated WebSockets (${users} users), all subscribed to one user`,
      "",
      "| measure | result |",
      "| --- | --- |",
      `| opened, authenticated and subscribed | ${result.openSeconds.toFixed(1)} s, ${
        (result.sockets / result.openSeconds).toFixed(0)
      } sockets/s |`,
      `| server RSS before → after | ${mib(result.before.rss)} → ${mib(result.after.rss)} MiB: **${
        perSocket("rss")
      } KiB per socket** |`,
      `| server JS heap before → after | ${mib(result.before.heapUsed)} → ${
        mib(result.after.heapUsed)
      } MiB: ${perSocket("heapUsed")} KiB per socket${result.after.gc ? "" : " (no GC forced)"} |`,
      `| one change (logout) reaching all ${result.sockets}: p99 over ${result.rounds.length} rounds | median ${
        p99s[Math.floor((p99s.length - 1) / 2)]?.toFixed(1)
      } ms, worst ${p99s[p99s.length - 1]?.toFixed(1)} ms |`,
      `| one visibility change (to nobody) reaching all ${result.sockets}: p99 over ${result.visibility.length} rounds | median ${
        hideP99s[Math.floor((hideP99s.length - 1) / 2)]?.toFixed(1)
      } ms, worst ${hideP99s[hideP99s.length - 1]?.toFixed(1)} ms |`,
      `| sockets closed by the server during the run | ${result.closedEarly} |`,
      "",
      "Per round, from the request that caused the change to each subscriber's message, in the",
      "client process's clock (logout → `offline`; sign-in, including its code request and",
      "verify → `online`):",
      "",
      "| round | offline push | online push |",
      "| ---: | --- | --- |",
      ...rounds,
      "",
      "Per round, from `PATCH /api/v1/me` to each subscriber's message (`presence_visibility`",
      "`nobody` → `offline` with `last_seen: null`; `everyone` → `online`):",
      "",
      "| round | hide push | show push |",
      "| ---: | --- | --- |",
      ...visibilityRounds,
    ];
  } finally {
    await clients?.stop();
    await server?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** What bench/scale_clients.ts prints. */
interface ClientsResult {
  sockets: number;
  openSeconds: number;
  before: { rss: number; heapUsed: number; gc: boolean };
  after: { rss: number; heapUsed: number; gc: boolean };
  rounds: { offline: Latency & { missing: number }; online: Latency & { missing: number } }[];
  visibility: { hide: Latency & { missing: number }; show: Latency & { missing: number } }[];
  closedEarly: number;
}

function serverDeno(): string[] {
  return [
    "deno",
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    // So the memory readings come after a full collection, not whenever V8 last ran one.
    "--v8-flags=--expose-gc",
    "bench/scale_server.ts",
  ];
}

/**
 * `sh -c 'ulimit -n N && exec "$@"'` when the children could not open `needed` files: every
 * socket is a descriptor, in the server and in the client process alike. Deno raises its own
 * soft limit to the hard one when it starts, so only the hard limit counts; raising that
 * takes root.
 */
async function fdLimitPrefix(needed: number): Promise<string[]> {
  const soft = (await output("sh", ["-c", "ulimit -Sn"])).trim();
  const hard = (await output("sh", ["-c", "ulimit -Hn"])).trim();
  console.error(`  open files: ulimit -n ${soft}, hard limit ${hard}; ${needed} needed`);
  if (hard === "unlimited" || Number(hard) >= needed) return [];
  const raise = `ulimit -n ${needed}`;
  const { success } = await new Deno.Command("sh", { args: ["-c", raise], stderr: "null" })
    .output();
  if (!success) {
    throw new Error(
      `the hard open-file limit is ${hard} and \`${raise}\` is not permitted here: raise it (limits.conf, root) or pass --sockets ${
        Math.max(1, Number(hard) - 2_048)
      }`,
    );
  }
  console.error(`  running the server and the clients under ulimit -n ${needed}`);
  return ["sh", "-c", `${raise} && exec "$@"`, "sh"];
}

/** Calls one of the scale server's `/__scale/` control endpoints. */
async function control(base: string, path: string): Promise<unknown> {
  const response = await fetch(`${base}/__scale/${path}`, { method: "POST" });
  if (!response.ok) throw new Error(`/__scale/${path} answered ${response.status}`);
  return await response.json();
}

/** Latency of `call` over `options.samples` sequential calls, after 3 unmeasured ones. */
async function sample(call: () => Promise<unknown>): Promise<Latency> {
  for (let i = 0; i < 3; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < options.samples; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))];
  return { p50: pct(0.5), p99: pct(0.99), max: times[times.length - 1] };
}

function formatLatency(latency: Latency): string {
  const ms = (value: number | undefined) => value === undefined ? "—" : value.toFixed(1);
  return `p50 ${ms(latency.p50)} ms, p99 ${ms(latency.p99)} ms, max ${ms(latency.max)} ms`;
}

function missing(latency: { missing: number }): string {
  return latency.missing > 0 ? ` (**${latency.missing} never arrived**)` : "";
}

function parseOptions(args: string[]) {
  const values: Record<string, string> = {
    users: "100000",
    expiring: "1000",
    sockets: "10000",
    rounds: "5",
    samples: "20",
  };
  let only: string[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split("=", 2);
    const value = inline ?? args[++i];
    const name = flag.replace(/^--/, "");
    if (name === "only") {
      only = value.split(",").map((s) => s.trim());
      const unknown = only.filter((shape) => shape !== "presence" && shape !== "sockets");
      if (unknown.length > 0) {
        console.error(`unknown shape(s): ${unknown.join(", ")}; shapes: presence, sockets`);
        Deno.exit(2);
      }
    } else if (name in values) values[name] = value;
    else {
      console.error(
        "deno task bench:scale [--only presence,sockets] [--users 100000] [--expiring 1000] [--sockets 10000] [--rounds 5] [--samples 20]",
      );
      Deno.exit(2);
    }
  }
  const number = (name: string) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--${name} must be a whole number above 0`);
      Deno.exit(2);
    }
    return n;
  };
  return {
    only,
    users: number("users"),
    expiring: Math.min(number("expiring"), number("users")),
    sockets: number("sockets"),
    rounds: number("rounds"),
    samples: number("samples"),
  };
}
