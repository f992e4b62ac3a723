/**
 * What a benchmark ran on, for its report: the commit (and whether the tree was dirty),
 * Deno, wrk, the CPU, and how busy the machine already was when it started.
 */
import { output } from "./wrk.ts";

/** The project root (where deno.json is). */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** `abc1234`, `abc1234+dirty` when the work tree has changes, or why there is none. */
export async function commit(): Promise<string> {
  const head = (await output("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"])).trim();
  const dirty = (await output("git", ["-C", ROOT, "status", "--porcelain"])).trim() !== "";
  return head ? `${head}${dirty ? "+dirty" : ""}` : "unknown (not a git checkout)";
}

/** `wrk debian/4.1.0-3+b2 [epoll]`. */
export async function wrkVersion(): Promise<string> {
  const line = (await output("wrk", ["-v"])).split("\n")[0] ?? "";
  return line.replace(/\s+Copyright.*$/, "") || "wrk (version unknown)";
}

/** `AMD EPYC (2 cores)`. */
export async function cpu(): Promise<string> {
  // Deno reads /proc only with --allow-all; `cat` needs just --allow-run.
  const info = await output("cat", ["/proc/cpuinfo"]);
  const model = info.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown model";
  const count = info.match(/^processor\s*:/gm)?.length ?? navigator.hardwareConcurrency;
  return `${model} (${count} cores)`;
}

/**
 * The 1-minute load average: other processes (a test run, a dev server) take CPU from the
 * server under test, so a busy machine makes every row slower, ceilings included.
 */
export async function load(): Promise<number | null> {
  const text = await output("cat", ["/proc/loadavg"]);
  const value = Number(text.split(" ")[0]);
  return text && Number.isFinite(value) ? value : null;
}

/** The report's lines about the machine. */
export async function machineLines(
  loadBefore: number | null,
  options: { wrk: boolean } = { wrk: true },
): Promise<string[]> {
  const busy = loadBefore !== null && loadBefore >= 0.5
    ? " — the machine was busy: expect lower numbers than on an idle one"
    : "";
  return [
    `- commit ${await commit()}, Deno ${Deno.version.deno}${
      options.wrk ? `, ${await wrkVersion()}` : ""
    }`,
    `- CPU: ${await cpu()}; load average when it started: ${loadBefore ?? "unknown"}${busy}`,
  ];
}
