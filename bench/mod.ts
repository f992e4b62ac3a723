/**
 * HTTP load benchmark of Doorman's hot paths: `deno task bench [seconds] [connections]
 * [--only name,name] [--warmup seconds] [--no-ceilings] [--verbose]` (bench/README.md).
 *
 * Each target gets a fresh server process (bench/server.ts) over a fresh KV file, pinned to
 * core 0, and wrk pinned to core 1 loads it: a short warm-up, then the measured run. The two
 * ceilings (a bare `Deno.serve`, one KV commit per request) are measured in the same run, on
 * the same machine, so Doorman's rows are read against them, never against old numbers.
 * The server counts KV commits and reads while the measured run lasts (bench/counting_kv.ts).
 */
import { comparisonTable, ensurePeer, nodeVersion, peerServerCommand } from "./better_auth.ts";
import type { Counters } from "./counting_kv.ts";
import { cpuSince, cpuTotal, processCpu, type ThreadCpu } from "./thread_cpu.ts";
import { load, machineLines, ROOT } from "./machine.ts";
import { startChild } from "./process.ts";
import { ensureWrk, runs, runWrk, wrkCommand, type WrkResult } from "./wrk.ts";

/** One thing to load. */
interface Target {
  /** Its name for `--only`. */
  name: string;
  /** Its row in the table. */
  label: string;
  /** The bench/server.ts mode that serves it. */
  mode: string;
  /** Extra environment for its server process (a feature switched on). */
  env?: Record<string, string>;
  /**
   * Sends go to bench/sink.ts in its own process on wrk's core (SMS in the measured run, and
   * events with `BENCH_EVENT_WEBHOOKS`), as they go to other machines in production.
   */
  sink?: boolean;
  ceiling?: boolean;
  /**
   * Served by the peer, better-auth on Node (bench/peer/server.mjs), which counts requests
   * only: it has no KV, its SQLite queries run on its JavaScript thread.
   */
  peer?: boolean;
  /** The wrk script, in bench/lua/. */
  script: string;
  /** The script's arguments for the warm-up or the measured run. */
  args(run: ScriptRun): string[];
  /** The server's `pool` argument: how much to prepare before it reports ready. */
  pool?(): number;
  /** Codes to prepare after the warm-up for the measured run, from the warm-up's rate. */
  measurePool?(warmup: WrkResult): number;
}

interface ScriptRun {
  dir: string;
  phase: "warmup" | "measure";
  /** Where the measured run continues a list the warm-up started (`next` of the warm-up). */
  offset: number;
}

/** What a target measured, or why it could not. */
interface Row {
  target: Target;
  result?: WrkResult;
  /** The peer's have `requests` only. */
  counters?: Counters;
  /** The server's CPU by thread over the measured run; null where /proc is not there. */
  cpu?: ThreadCpu | null;
  error?: string;
}

const THREADS = 1;
/** Cores: the server under test on the first, wrk on the second. */
const SERVER_CORE = 0;
const WRK_CORE = 1;
/**
 * Verify codes made before the warm-up: enough for this many verifications a second, so the
 * warm-up does not run out (when it does, its rate counts fast 400s and overshoots).
 */
const VERIFY_WARMUP_RPS = 2_500;
/**
 * Codes for the measured run: the warm-up's rate times this, plus a fixed margin. The
 * warm-up runs cold (JIT, caches): the measured rate has been up to 1.75 times its rate.
 */
const VERIFY_HEADROOM = 2;
const VERIFY_MARGIN = 1_000;
/** The same for the peer's verify, which is far slower to prepare codes for and to load. */
const PEER_VERIFY_WARMUP_RPS = 1_000;

const TARGETS: Target[] = [
  {
    name: "bare",
    label: "bare Deno.serve (ceiling)",
    mode: "bare",
    ceiling: true,
    script: "status.lua",
    args: () => [],
  },
  {
    name: "kv",
    label: "one KV commit per request (ceiling)",
    mode: "kv",
    ceiling: true,
    script: "status.lua",
    args: () => [],
  },
  {
    name: "me",
    label: "GET /api/v1/me",
    mode: "me",
    script: "bearer.lua",
    args: ({ dir }) => ["GET", "/api/v1/me", `${dir}/tokens.txt`],
  },
  {
    name: "heartbeat",
    label: "POST /api/v1/presence/heartbeat",
    mode: "heartbeat",
    script: "bearer.lua",
    args: ({ dir }) => ["POST", "/api/v1/presence/heartbeat", `${dir}/tokens.txt`],
  },
  {
    name: "presence",
    label: "GET /api/v1/presence?user_ids=<100 ids>",
    mode: "presence",
    script: "bearer.lua",
    args: ({ dir }) => ["GET", "/api/v1/presence", `${dir}/tokens.txt`, `${dir}/ids.txt`],
  },
  {
    name: "presence_lists",
    label: "… · 1,000 different lists, in turn",
    mode: "presence",
    script: "bearer.lua",
    args: ({ dir }) => [
      "GET",
      "/api/v1/presence",
      `${dir}/tokens.txt`,
      `${dir}/all-ids.txt`,
      "1000",
    ],
  },
  {
    name: "presence_private",
    label: "… · half of them visible to contacts only",
    mode: "presence_private",
    script: "bearer.lua",
    args: ({ dir }) => ["GET", "/api/v1/presence", `${dir}/tokens.txt`, `${dir}/ids.txt`],
  },
  {
    name: "request",
    label: "POST /api/v1/auth/otp/request",
    mode: "request",
    sink: true,
    script: "otp_request.lua",
    args: ({ offset }) => [String(THREADS), String(offset)],
  },
  {
    name: "verify",
    label: "POST /api/v1/auth/otp/verify",
    mode: "verify",
    script: "verify.lua",
    args: ({ dir, phase }) => [`${dir}/pairs-${phase}.txt`, String(THREADS)],
    pool: () => Math.ceil(VERIFY_WARMUP_RPS * options.warmup),
    measurePool: verifyPool,
  },
  {
    name: "refresh",
    label: "POST /api/v1/auth/refresh",
    mode: "refresh",
    script: "refresh.lua",
    args: ({ dir, phase }) => [`${dir}/refresh-${phase}.txt`, String(THREADS)],
    // The script chains the tokens answers hand back, so it needs only enough to start every
    // connection with slack for failures: sign-ins are slow to prepare (two requests each).
    pool: () => Math.max(500, 10 * options.connections),
  },
];

/**
 * The code request and verify again with event webhooks on (`EVENT_WEBHOOK_URL` to bench/sink.ts
 * in its own process on wrk's core, answering 200, as a receiver on another machine would): what
 * the outbox entry in each request's commit and the POSTs after it cost the server.
 */
for (const name of ["request", "verify"]) {
  const base = TARGETS.find((t) => t.name === name)!;
  TARGETS.push({
    ...base,
    name: `${name}_webhooks`,
    label: `${base.label} · event webhooks on`,
    env: { BENCH_EVENT_WEBHOOKS: "1" },
    sink: true,
  });
}

/**
 * The peer: the same two paths on better-auth's phone-number plugin (Node + SQLite, installed
 * from npm into bench/peer/), loaded by the same scripts with the same phones and fresh codes.
 */
TARGETS.push(
  {
    name: "peer_request",
    label: "better-auth: POST /api/auth/phone-number/send-otp",
    mode: "request",
    peer: true,
    env: { NODE_ENV: "production" },
    script: "otp_request.lua",
    args: ({ offset }) => [
      String(THREADS),
      String(offset),
      "/api/auth/phone-number/send-otp",
      "phoneNumber",
    ],
  },
  {
    name: "peer_verify",
    label: "better-auth: POST /api/auth/phone-number/verify",
    mode: "verify",
    peer: true,
    env: { NODE_ENV: "production" },
    script: "verify.lua",
    args: ({ dir, phase }) => [
      `${dir}/pairs-${phase}.txt`,
      String(THREADS),
      "/api/auth/phone-number/verify",
      "phoneNumber",
    ],
    pool: () => Math.ceil(PEER_VERIFY_WARMUP_RPS * options.warmup),
    measurePool: verifyPool,
  },
);

/** Codes for a verify target's measured run, sized from its warm-up's rate. */
function verifyPool(warmup: WrkResult): number {
  // A warm-up that ran out answered fast 400s too: counting them only overshoots.
  const rate = warmup.requests / (warmup.duration_us / 1e6);
  if (warmup.reused > 0) {
    console.error("  (the warm-up ran out of codes: sizing from its 400s too)");
  }
  return Math.ceil(rate * options.seconds * VERIFY_HEADROOM) + VERIFY_MARGIN;
}

const options = parseOptions(Deno.args);

if (import.meta.main) await main();

async function main(): Promise<void> {
  const started = performance.now();
  const wanted = TARGETS.filter((t) =>
    options.only ? options.only.includes(t.name) || (t.ceiling && options.ceilings) : true
  ).filter((t) => options.ceilings || !t.ceiling);
  const unknown = (options.only ?? []).filter((name) => !TARGETS.some((t) => t.name === name));
  if (unknown.length > 0) {
    console.error(`unknown target(s): ${unknown.join(", ")}`);
    console.error(`targets: ${TARGETS.map((t) => t.name).join(", ")}`);
    Deno.exit(2);
  }

  await ensureWrk();
  // Without Node the peer's rows fail with the reason; Doorman's still run.
  let peerMissing: string | null = null;
  if (wanted.some((t) => t.peer)) {
    await ensurePeer().catch((error) => {
      peerMissing = error instanceof Error ? error.message : String(error);
      console.error(`warning: ${peerMissing}`);
    });
  }
  const loadBefore = await load();
  const pinned = navigator.hardwareConcurrency >= 2 && await runs("taskset", ["-V"]);
  if (!pinned) console.error("warning: fewer than 2 cores or no taskset: nothing is pinned");

  const rows: Row[] = [];
  for (const [i, target] of wanted.entries()) {
    console.error(`[${i + 1}/${wanted.length}] ${target.label}`);
    if (target.peer && peerMissing) {
      rows.push({ target, error: peerMissing });
      continue;
    }
    try {
      rows.push({ target, ...await measure(target, pinned) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`  failed: ${message}`);
      rows.push({ target, error: message.split("\n")[0] });
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  console.log(await report(rows, pinned, elapsed, loadBefore));
  if (rows.some((row) => row.error)) Deno.exit(1);
}

/** Starts the target's server, warms it up, measures it, and stops it. */
async function measure(
  target: Target,
  pinned: boolean,
): Promise<{ result: WrkResult; counters: Counters; cpu: ThreadCpu | null }> {
  const dir = await Deno.makeTempDir({ prefix: "doorman-bench-" });
  const sink = target.sink ? await startChild<{ port: number }>(sinkCommand(pinned), ROOT) : null;
  const sinkEnv: Record<string, string> = sink
    ? { BENCH_SINK_URL: `http://127.0.0.1:${sink.ready.port}/` }
    : {};
  const server = await startChild<{ port: number }>(
    serverCommand(target, dir, pinned, sinkEnv),
    ROOT,
  ).catch(async (error) => {
    await sink?.stop();
    throw error;
  });
  try {
    const base = `http://127.0.0.1:${server.ready.port}`;
    const wrk = (phase: ScriptRun["phase"], seconds: number, offset: number) =>
      runWrk({
        url: `${base}/`,
        script: `bench/lua/${target.script}`,
        scriptArgs: target.args({ dir, phase, offset }),
        seconds,
        connections: options.connections,
        threads: THREADS,
        core: pinned ? WRK_CORE : null,
      });

    let offset = 0;
    if (options.warmup > 0) {
      const warmup = await wrk("warmup", options.warmup, 0);
      offset = warmup.next;
      if (options.verbose) console.error(warmup.raw);
      if (target.measurePool) {
        const n = target.measurePool(warmup);
        console.error(`  warm-up ${rate(warmup).toFixed(0)} req/s: preparing ${n} for the run`);
        await control(base, `prepare?n=${n}&file=measure`, "POST");
      }
    } else if (target.measurePool) {
      throw new Error("this target sizes its codes from the warm-up: use --warmup > 0");
    }

    await control(base, "reset", "POST");
    const logBefore = server.linesAfterReady();
    const cpuBefore = await processCpu(server.pid);
    const result = await wrk("measure", options.seconds, offset);
    const cpuAfter = await processCpu(server.pid);
    const cpu = cpuBefore && cpuAfter ? cpuSince(cpuBefore, cpuAfter) : null;
    if (options.verbose) console.error(result.raw);
    // Requests still in flight when wrk stopped finish their commits first.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const counters = await control(base, "counters", "GET") as Counters;
    const logged = server.linesAfterReady() - logBefore;
    const cpuText = cpu
      ? `, core used ${coreUsed(cpu, result)}, ${
        (cpuTotal(cpu) * 1000 / Math.max(1, counters.requests)).toFixed(0)
      } µs of CPU a request`
      : "";
    console.error(
      `  ${rate(result).toFixed(0)} req/s, p50 ${ms(result.p50_us)} ms, p99 ${
        ms(result.p99_us)
      } ms, non-2xx: ${failures(result)}${cpuText}, ${logged} log lines`,
    );
    return { result, counters, cpu };
  } finally {
    await server.stop();
    await sink?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The server's command line (also printed in the report). */
function serverCommand(
  target: Target,
  dir: string,
  pinned: boolean,
  extraEnv: Record<string, string> = {},
): string[] {
  const env = Object.entries({ ...target.env, ...extraEnv }).map(([k, v]) => `${k}=${v}`);
  const prefix = [
    ...(pinned ? ["taskset", "-c", String(SERVER_CORE)] : []),
    ...(env.length > 0 ? ["env", ...env] : []),
  ];
  if (target.peer) return [...prefix, ...peerServerCommand(target.mode, dir, target.pool?.())];
  return [
    ...prefix,
    "deno",
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "bench/server.ts",
    target.mode,
    dir,
    ...(target.pool ? [String(target.pool())] : []),
  ];
}

/** The providers' sink (bench/sink.ts), on wrk's core. */
function sinkCommand(pinned: boolean): string[] {
  return [
    ...(pinned ? ["taskset", "-c", String(WRK_CORE)] : []),
    "deno",
    "run",
    "--allow-net",
    "bench/sink.ts",
  ];
}

/** Calls the server's `/__bench/` control endpoint. */
async function control(base: string, path: string, method: string): Promise<unknown> {
  const response = await fetch(`${base}/__bench/${path}`, { method });
  const body = await response.json();
  if (!response.ok) throw new Error(`/__bench/${path} answered ${response.status}`);
  return body;
}

function rate(result: WrkResult): number {
  return result.requests / (result.duration_us / 1e6);
}

/** The share of one core the server's threads used over the measured run. */
function coreUsed(cpu: ThreadCpu, result: WrkResult): string {
  const total = cpuTotal(cpu);
  return `${(total / (result.duration_us / 1000) * 100).toFixed(0)} %`;
}

function ms(us: number): string {
  return (us / 1000).toFixed(2);
}

/** Non-2xx answers by status, socket errors, and how many reused a used code or token. */
function failures(result: WrkResult): string {
  const parts = Object.entries(result.statuses)
    .filter(([status]) => !status.startsWith("2"))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status}: ${n}`);
  for (const [kind, n] of Object.entries(result.socket_errors)) {
    if (n > 0) parts.push(`${kind} error: ${n}`);
  }
  if (result.reused > 0) parts.push(`(${result.reused} reused a spent code/token)`);
  return parts.length > 0 ? parts.join(", ") : "0";
}

/** The markdown report: the table, what it was measured on, and how to run it again. */
async function report(
  rows: Row[],
  pinned: boolean,
  elapsed: number,
  loadBefore: number | null,
): Promise<string> {
  const commitCeiling = rows.find((row) => row.target.name === "kv")?.result;
  const bare = rows.find((row) => row.target.name === "bare")?.result;
  // The peer counts requests only: its KV columns are blank.
  const perRequest = (n: number | undefined, counters: Counters) =>
    counters.requests > 0 && n !== undefined ? (n / counters.requests).toFixed(2) : "—";

  const table = [
    "| target | req/s | p50 ms | p99 ms | non-2xx (by status) | × one-commit ceiling | commits/request | reads/request |",
    "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ...rows.map(({ target, result, counters, error }) => {
      if (!result || !counters) return `| ${target.label} | failed: ${error} | | | | | | |`;
      const ratio = commitCeiling ? (rate(result) / rate(commitCeiling)).toFixed(2) : "—";
      return `| ${target.label} | ${rate(result).toFixed(0)} | ${ms(result.p50_us)} | ${
        ms(result.p99_us)
      } | ${failures(result)} | ${ratio} | ${perRequest(counters.commits, counters)} | ${
        perRequest(counters.reads, counters)
      } |`;
    }),
  ];

  const kvTable = [
    "| target | requests | commits | conflicts | commit errors | mutations | reads | keys read |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.filter((row) => row.counters && !row.target.peer).map(({ target, counters: c }) =>
      `| ${target.label} | ${c!.requests} | ${perRequest(c!.commits, c!)} | ${
        perRequest(c!.conflicts, c!)
      } | ${perRequest(c!.commitErrors, c!)} | ${perRequest(c!.mutations, c!)} | ${
        perRequest(c!.reads, c!)
      } | ${perRequest(c!.keysRead, c!)} |`
    ),
  ];

  const cpuTable = [
    "| target | CPU µs/request | JavaScript thread | KV (SQLite) threads | other threads | core used |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.filter((row) => row.cpu && row.counters && row.result).map((row) => {
      const { target, counters, result } = row;
      const cpu = row.cpu!;
      const us = (msTotal: number) =>
        counters!.requests > 0 ? (msTotal * 1000 / counters!.requests).toFixed(0) : "—";
      return `| ${target.label} | ${us(cpuTotal(cpu))} | ${us(cpu.js)} | ${us(cpu.kv)} | ${
        us(cpu.other)
      } | ${coreUsed(cpu, result!)} |`;
    }),
  ];

  const commands = rows.map(({ target }) => {
    const run = {
      url: "http://127.0.0.1:$PORT/",
      script: `bench/lua/${target.script}`,
      scriptArgs: target.args({ dir: "$DIR", phase: "measure", offset: 0 }),
      seconds: options.seconds,
      connections: options.connections,
      threads: THREADS,
      core: pinned ? WRK_CORE : null,
    };
    const sink = target.sink ? `\`${sinkCommand(pinned).join(" ")}\` (prints $SINK), then ` : "";
    const env: Record<string, string> = target.sink
      ? { BENCH_SINK_URL: "http://127.0.0.1:$SINK/" }
      : {};
    return `- ${target.name}: ${sink}\`${
      serverCommand(target, "$DIR", pinned, env).join(" ")
    }\`, then \`${wrkCommand(run).join(" ")}\``;
  });

  const failed = rows.filter((row) => row.error);
  return [
    "",
    `## Doorman HTTP benchmark, ${new Date().toISOString()}`,
    "",
    `- command: \`deno task bench${Deno.args.length ? " " + Deno.args.join(" ") : ""}\` (${
      elapsed.toFixed(0)
    } s in all)`,
    ...await machineLines(loadBefore),
    `- each target: a fresh server process and KV file${
      pinned
        ? `, the server on core ${SERVER_CORE} and wrk on core ${WRK_CORE}`
        : " (not pinned: fewer than 2 cores or no taskset)"
    }, ${options.connections} connections, ${THREADS} wrk thread, ${options.warmup} s warm-up, then ${options.seconds} s measured`,
    "- the server logs as in production: one JSON line per request on stdout, into a pipe the bench" +
    " reads and drops; SMS and event webhooks go to bench/sink.ts in its own process on wrk's core",
    ...(rows.some((row) => row.target.peer)
      ? [
        "- better-auth rows: its phone-number plugin on Node " + (await nodeVersion()) +
        " + SQLite (bench/peer/), on the same core; SQLite in WAL mode with synchronous " +
        (Deno.env.get("BENCH_PEER_SYNCHRONOUS")?.toUpperCase() ??
          "NORMAL (better-sqlite3's default: commits are not synced one by one, Doorman's are)") +
        "; it writes no request log (it has none) and its SMS goes nowhere (a function that" +
        " returns)",
      ]
      : []),
    `- bare Deno.serve ceiling: ${bare ? `${rate(bare).toFixed(0)} req/s` : "not measured"}` +
    `; one-commit ceiling: ${
      commitCeiling ? `${rate(commitCeiling).toFixed(0)} req/s` : "not measured"
    }`,
    "",
    ...table,
    "",
    ...comparisonTable(
      rows.filter((row) => row.result).map(({ target, result }) => ({
        name: target.name,
        rps: rate(result!),
        p99_us: result!.p99_us,
        clean: failures(result!) === "0",
      })),
    ),
    "KV operations per request, counted in the server during the measured run (background work",
    "such as the event tail's polls and group-commit flushes included):",
    "",
    ...kvTable,
    "",
    ...(cpuTable.length > 2
      ? [
        "The server's CPU per request by thread over the measured run (from /proc; the other",
        "threads are mostly V8's garbage collection and compiler). A row whose core is not",
        "used up waits on something else, such as the KV file's commits:",
        "",
        ...cpuTable,
        "",
      ]
      : []),
    "Commands ($DIR is a fresh temp directory, $PORT the port the server printed):",
    "",
    ...commands,
    ...(failed.length > 0
      ? ["", "Failed:", "", ...failed.map((row) => `- ${row.target.name}: ${row.error}`)]
      : []),
  ].join("\n");
}

/** Command-line arguments, with environment variables as defaults. */
function parseOptions(args: string[]) {
  const env = (name: string) => Deno.env.get(name);
  const positional: string[] = [];
  let only = env("BENCH_ONLY");
  let warmup = env("BENCH_WARMUP") ?? "2";
  let ceilings = true;
  let verbose = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--only") only = args[++i];
    else if (arg.startsWith("--only=")) only = arg.slice("--only=".length);
    else if (arg === "--warmup") warmup = args[++i];
    else if (arg.startsWith("--warmup=")) warmup = arg.slice("--warmup=".length);
    else if (arg === "--no-ceilings") ceilings = false;
    else if (arg === "--verbose") verbose = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(
        "deno task bench [seconds=10] [connections=50] [--only a,b] [--warmup 2] [--no-ceilings] [--verbose]",
      );
      console.log(`targets: ${TARGETS.map((t) => t.name).join(", ")}`);
      Deno.exit(0);
    } else positional.push(arg);
  }
  const seconds = Number(positional[0] ?? env("BENCH_SECONDS") ?? 10);
  const connections = Number(positional[1] ?? env("BENCH_CONNECTIONS") ?? 50);
  // wrk takes whole seconds.
  if (
    !(Number.isInteger(seconds) && seconds > 0) || !(Number.isInteger(connections) &&
      connections >= 1) ||
    !(Number.isInteger(Number(warmup)) && Number(warmup) >= 0)
  ) {
    console.error("seconds and connections must be whole numbers above 0, --warmup at least 0");
    Deno.exit(2);
  }
  return {
    seconds,
    connections,
    warmup: Number(warmup),
    only: only ? only.split(",").map((s) => s.trim()).filter(Boolean) : null,
    ceilings,
    verbose,
  };
}
