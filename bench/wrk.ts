/**
 * wrk, the load generator: installs it from Debian when missing, runs it pinned to a core,
 * and reads the `BENCH_RESULT` line the Lua scripts in bench/lua/ print from `done()`.
 */

/** What one wrk run measured (from bench/lua/status.lua). */
export interface WrkResult {
  requests: number;
  duration_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  /** Responses by exact HTTP status. */
  statuses: Record<string, number>;
  /** Connections that failed; a timeout is a request with no answer within `--timeout`. */
  socket_errors: { connect: number; read: number; write: number; timeout: number };
  /** Requests that had to present a used code or token again (the prepared list ran out). */
  reused: number;
  /** First list index no thread used (where the next run should continue). */
  next: number;
  /** wrk's own report, for `--verbose`. */
  raw: string;
}

/** How one wrk run is set up. */
export interface WrkRun {
  url: string;
  script: string;
  scriptArgs: string[];
  seconds: number;
  connections: number;
  threads: number;
  /** `taskset -c <core>` prefix, or none. */
  core: number | null;
}

/** The wrk command line of a run (also printed in the report). */
export function wrkCommand(run: WrkRun): string[] {
  return [
    ...(run.core === null ? [] : ["taskset", "-c", String(run.core)]),
    "wrk",
    "-c",
    String(run.connections),
    "-t",
    String(run.threads),
    "-d",
    `${run.seconds}s`,
    // Slow answers are still answers: wrk's default of 2 s would drop them from the latencies.
    "--timeout",
    "10s",
    "--latency",
    "-s",
    run.script,
    run.url,
    ...(run.scriptArgs.length > 0 ? ["--", ...run.scriptArgs] : []),
  ];
}

/** Runs wrk and returns what its script reported; throws with wrk's output if it failed. */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const [command, ...args] = wrkCommand(run);
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const raw = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  const line = raw.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${raw}`);
  return { ...JSON.parse(line.slice("BENCH_RESULT ".length)), raw };
}

/** Installs Debian's wrk when it is not on PATH, saying what it runs. */
export async function ensureWrk(): Promise<void> {
  if (await runs("wrk", ["-v"])) return;
  const root = (await output("id", ["-u"])).trim() === "0";
  const sudo = root ? [] : ["sudo"];
  const apt = async (...args: string[]) => {
    const command = [...sudo, "apt-get", ...args];
    console.error(`wrk is not installed: running ${command.join(" ")}`);
    try {
      const { success } = await new Deno.Command(command[0], {
        args: command.slice(1),
        env: { DEBIAN_FRONTEND: "noninteractive" },
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      return success;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  };
  // A fresh machine may have no package lists yet: update only when the install needs it.
  const installed = await apt("install", "-y", "wrk") ||
    (await apt("update") && await apt("install", "-y", "wrk"));
  if (!installed || !await runs("wrk", ["-v"])) {
    throw new Error("could not install wrk: install it by hand (apt-get install wrk)");
  }
}

/** Whether `command` can be started at all (its exit code does not matter). */
export async function runs(command: string, args: string[]): Promise<boolean> {
  try {
    await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The standard output of a command, or "" when it cannot run. */
export async function output(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(command, { args, stderr: "null" }).output();
    return new TextDecoder().decode(stdout);
  } catch {
    return "";
  }
}
