/**
 * CPU time of a process by thread, read from Linux's `/proc/<pid>/task/*\/stat`, so the
 * benchmark can say where a request's CPU goes: the JavaScript thread (the main thread under
 * `deno run`), the SQLite threads that run a local KV file's reads and commits (`sw-0`, `sw-1`,
 * … in denokv), and the rest (V8's garbage collection and compiler helpers, I/O threads).
 *
 * Deno lets only `--allow-all` read `/proc/<pid>`, so the driver reads it with `cat` (it may
 * run programs anyway), and the server under test keeps its narrow permissions.
 */

/** CPU milliseconds (user + system) spent so far, by kind of thread. */
export interface ThreadCpu {
  js: number;
  kv: number;
  other: number;
}

/** Linux counts CPU time in ticks of 1/100 s (`USER_HZ`, 100 on every mainstream build). */
const MS_PER_TICK = 10;

/** Process `pid`'s CPU by kind of thread, or null where it cannot be read (not Linux). */
export async function processCpu(pid: number): Promise<ThreadCpu | null> {
  if (Deno.build.os !== "linux") return null;
  try {
    const { success, stdout } = await new Deno.Command("sh", {
      args: ["-c", `cat /proc/${Math.trunc(pid)}/task/*/stat`],
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? cpuOfStats(new TextDecoder().decode(stdout), pid) : null;
  } catch {
    return null;
  }
}

/** Sums `stat` lines of one process's threads (one a line) by kind of thread. */
export function cpuOfStats(text: string, pid: number): ThreadCpu {
  const out: ThreadCpu = { js: 0, kv: 0, other: 0 };
  for (const line of text.split("\n")) {
    const open = line.indexOf(" (");
    const close = line.lastIndexOf(")");
    if (open < 0 || close < open) continue;
    const tid = Number(line.slice(0, open));
    const name = line.slice(open + 2, close);
    // The name may hold spaces and parentheses: fields are counted from its closing one.
    // utime and stime are fields 14 and 15.
    const fields = line.slice(close + 2).split(" ");
    const ms = (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
    if (tid === pid) out.js += ms;
    else if (/^sw-\d+$/.test(name)) out.kv += ms;
    else out.other += ms;
  }
  return out;
}

/** What was spent between two readings. */
export function cpuSince(before: ThreadCpu, after: ThreadCpu): ThreadCpu {
  return { js: after.js - before.js, kv: after.kv - before.kv, other: after.other - before.other };
}

/** All of a reading's CPU, every kind of thread together. */
export function cpuTotal(cpu: ThreadCpu): number {
  return cpu.js + cpu.kv + cpu.other;
}
