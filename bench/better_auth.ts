/**
 * The peer of `deno task bench`: better-auth's phone-number plugin on Node + SQLite
 * (bench/peer/, bench/README.md). Installs it from npm when it is missing or its lock changed,
 * gives its server's command line, and makes the table that sets it beside Doorman's rows of
 * the same run.
 */
import { ROOT } from "./machine.ts";
import { output } from "./wrk.ts";

/** Where the peer's package lives, from the project root. */
export const PEER_DIR = "bench/peer";
/** The oldest Node the peer's pinned packages support (better-sqlite3's `engines`). */
const NODE_MAJOR = 20;
/** Written into node_modules after an install: the lock it installed, to see it change. */
const STAMP = "node_modules/.doorman-bench-lock";

/**
 * Runs `npm ci --prefix bench/peer` when bench/peer/node_modules is missing or was installed
 * from another lock, saying so; throws with the reason when Node or npm is not there.
 */
export async function ensurePeer(): Promise<void> {
  const version = (await output("node", ["--version"])).trim();
  const major = Number(version.match(/^v(\d+)\./)?.[1]);
  if (!(major >= NODE_MAJOR)) {
    throw new Error(
      `the better-auth peer needs Node ${NODE_MAJOR} or later on PATH (found: ${
        version || "none"
      })`,
    );
  }
  const lock = await lockHash();
  const stamp = await Deno.readTextFile(`${ROOT}/${PEER_DIR}/${STAMP}`).catch(() => "");
  if (stamp.trim() === lock) return;
  const command = ["npm", "ci", "--prefix", PEER_DIR, "--no-audit", "--no-fund"];
  console.error(
    `${
      stamp ? "bench/peer/package-lock.json changed" : "bench/peer/node_modules is missing"
    }: running ${command.join(" ")} (better-sqlite3 builds from source when its prebuilt` +
      " binary cannot be downloaded: a few minutes)",
  );
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(command[0], { args: command.slice(1), cwd: ROOT }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error("the better-auth peer needs npm");
    throw error;
  }
  // The report goes to stdout: npm's output goes to stderr with the rest of the progress.
  await Deno.stderr.write(result.stdout);
  await Deno.stderr.write(result.stderr);
  if (!result.success) throw new Error(`${command.join(" ")} failed (exit ${result.code})`);
  await Deno.writeTextFile(`${ROOT}/${PEER_DIR}/${STAMP}`, lock + "\n");
}

async function lockHash(): Promise<string> {
  const bytes = await Deno.readFile(`${ROOT}/${PEER_DIR}/package-lock.json`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `v20.20.2`, or `(version unknown)`. */
export async function nodeVersion(): Promise<string> {
  return (await output("node", ["--version"])).trim() || "(version unknown)";
}

/** The peer's server command (before `taskset` and `env`): `node bench/peer/server.mjs …`. */
export function peerServerCommand(mode: string, dir: string, pool?: number): string[] {
  return ["node", `${PEER_DIR}/server.mjs`, mode, dir, ...(pool ? [String(pool)] : [])];
}

/** One measured row, as the comparison needs it. */
export interface Measured {
  name: string;
  rps: number;
  p99_us: number;
  /** Every answer 2xx, no socket error, no spent code presented again. */
  clean: boolean;
}

/** The paths compared: Doorman's target, the peer's, and the goal of issue 21. */
const PAIRS = [
  { path: "code request", doorman: "request", peer: "peer_request", goal: 5 },
  { path: "verify (sign-up + session)", doorman: "verify", peer: "peer_verify", goal: 10 },
];

/** The markdown comparison of the pairs measured in this run (nothing when none was). */
export function comparisonTable(rows: Measured[]): string[] {
  const byName = new Map(rows.map((row) => [row.name, row]));
  const lines = PAIRS.flatMap(({ path, doorman, peer, goal }) => {
    const d = byName.get(doorman), p = byName.get(peer);
    if (!d || !p) return [];
    const ratio = d.rps / p.rps;
    const flag = d.clean && p.clean ? "" : " (not every answer was 2xx: see above)";
    return [
      `| ${path} | ${p.rps.toFixed(0)} | ${ms(p.p99_us)} | ${d.rps.toFixed(0)} | ${
        ms(d.p99_us)
      } | ${ratio.toFixed(1)}× | ≥ ${goal}× ${ratio >= goal ? "met" : "missed"}${flag} |`,
    ];
  });
  if (lines.length === 0) return [];
  return [
    "Doorman against better-auth's phone-number plugin on Node + SQLite (bench/peer/), measured",
    "in this run, each on the same core under the same load (what the peer includes and what",
    "differs: bench/README.md):",
    "",
    "| path | better-auth req/s | p99 ms | Doorman req/s | p99 ms | Doorman ÷ better-auth | goal |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...lines,
    "",
  ];
}

function ms(us: number): string {
  return (us / 1000).toFixed(2);
}
