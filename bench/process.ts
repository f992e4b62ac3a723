/**
 * Child processes of the benchmarks: started with a command line that is also printed in
 * the report, they say they are ready with one JSON line on stdout (progress on stderr).
 */

/** A running child and the JSON line it was ready with. */
export interface Child<T> {
  ready: T;
  /** Its process id (`taskset` and `env` exec the program, so it is the program's). */
  pid: number;
  /**
   * How many lines it printed on stdout after the ready line (a server's log): they are read
   * and dropped as they come, as a log collector would, so the child never blocks on a full pipe.
   */
  linesAfterReady(): number;
  /** Stops it (SIGTERM) and waits for it. */
  stop(): Promise<void>;
  status: Promise<Deno.CommandStatus>;
}

/**
 * Starts `command` (a `deno` word becomes this very deno binary) in `cwd` and waits for its
 * first stdout line, parsed as JSON. Throws if it exits first.
 */
export async function startChild<T>(command: string[], cwd: string): Promise<Child<T>> {
  const [program, ...args] = command.map((word) => word === "deno" ? Deno.execPath() : word);
  const child = new Deno.Command(program, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = readLines(child.stdout);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await lines.return?.(undefined);
  };
  const first = await lines.next();
  if (first.done) {
    await stop();
    throw new Error(`${command.slice(0, 8).join(" ")} … exited before it was ready`);
  }
  let after = 0;
  const drained = (async () => {
    for await (const _ of lines) after++;
  })();
  return {
    ready: JSON.parse(first.value) as T,
    pid: child.pid,
    linesAfterReady: () => after,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await child.status;
      await drained; // stdout closed with the child
    },
    status: child.status,
  };
}

async function* readLines(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
    }
  }
  if (buffer) yield buffer;
}
