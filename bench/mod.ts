/**
 * HTTP load benchmark: `deno task bench [seconds] [connections]`.
 *
 * Each target runs in its own server process (bench/server.ts) on loopback; this process
 * keeps `connections` requests in flight for `seconds` and reports requests per second and
 * latency percentiles. The bare `Deno.serve` and one-KV-commit-per-request targets are the
 * ceilings of this machine in this run: compare Doorman's rows to them, not to old numbers.
 */
const seconds = Number(Deno.args[0] ?? 5);
const connections = Number(Deno.args[1] ?? 32);

interface Row {
  target: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function runTarget(
  mode: string,
  request: (port: number, i: number, token: string) => Request,
) {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "bench/server.ts",
      mode,
      `${dir}/kv.sqlite`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const nextLine = async () => {
    while (!buffer.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`${mode} server exited`);
      buffer += value;
    }
    const at = buffer.indexOf("\n");
    const line = buffer.slice(0, at);
    buffer = buffer.slice(at + 1);
    return line;
  };
  const port = Number(await nextLine());
  const tokens = mode === "me" || mode.startsWith("heartbeat") ? (await nextLine()).split(" ") : [];

  const latencies: number[] = [];
  let errors = 0;
  let counter = 0;
  const deadline = performance.now() + seconds * 1000;
  // Warm up briefly so JIT and KV caches settle before measuring.
  for (let i = 0; i < 200; i++) {
    await (await fetch(
      request(port, counter++, tokens[counter % Math.max(1, tokens.length)] ?? ""),
    )).body?.cancel();
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const res = await fetch(
        request(port, counter++, tokens[counter % Math.max(1, tokens.length)] ?? ""),
      );
      latencies.push(performance.now() - t0);
      if (res.status >= 400 && errors++ === 0) {
        console.error(`${mode}: first error ${res.status} ${await res.text()}`);
      } else {
        await res.body?.cancel();
      }
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  child.kill();
  await child.status;
  await lines.cancel().catch(() => {});
  await Deno.remove(dir, { recursive: true });
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return { rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), errors };
}

const json = { "content-type": "application/json" };
const heartbeat = (port: number, _i: number, token: string) =>
  new Request(`http://127.0.0.1:${port}/api/v1/presence/heartbeat`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
const targets: [string, string, (port: number, i: number, token: string) => Request][] = [
  ["bare Deno.serve (ceiling)", "bare", (port) => new Request(`http://127.0.0.1:${port}/`)],
  ["one KV commit per request (ceiling)", "kv", (port) => new Request(`http://127.0.0.1:${port}/`)],
  [
    "GET /api/v1/me",
    "me",
    (port, _i, token) =>
      new Request(`http://127.0.0.1:${port}/api/v1/me`, {
        headers: { authorization: `Bearer ${token}` },
      }),
  ],
  ["POST /api/v1/presence/heartbeat, 200 users, group commit", "heartbeat", heartbeat],
  ["POST /api/v1/presence/heartbeat, 200 users, one commit each", "heartbeat-single", heartbeat],
  [
    "POST /api/v1/auth/otp/request",
    "request",
    (port, i) =>
      new Request(`http://127.0.0.1:${port}/api/v1/auth/otp/request`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ phone: `+1415${2_000_000 + (i % 7_000_000)}` }),
      }),
  ],
];

const rows: Row[] = [];
for (const [target, mode, request] of targets) {
  rows.push({ target, ...(await runTarget(mode, request)) });
}
console.log(`\n${seconds} s per target, ${connections} connections, Deno ${Deno.version.deno}\n`);
console.log("| target | req/s | p50 ms | p99 ms | errors |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const row of rows) {
  console.log(
    `| ${row.target} | ${row.rps.toFixed(0)} | ${row.p50.toFixed(2)} | ${
      row.p99.toFixed(2)
    } | ${row.errors} |`,
  );
}
