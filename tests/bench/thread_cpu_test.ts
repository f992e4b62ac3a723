import assert from "node:assert/strict";
import { cpuOfStats, cpuSince, processCpu } from "../../bench/thread_cpu.ts";

Deno.test("cpuOfStats() - user + system ticks by kind of thread; names may hold ') '", () => {
  // tid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
  const text = [
    "4242 (deno) S 1 4242 4242 0 -1 4194560 900 0 0 0 123 45 0 0 20 0 9 0",
    "4243 (sw-0) S 1 4242 4242 0 -1 4194560 10 0 0 0 30 20 0 0 20 0 9 0",
    "4244 (V8 DefaultWorke) S 1 4242 4242 0 -1 4194560 10 0 0 0 7 1 0 0 20 0 9 0",
    "4245 (odd) name) S 1 4242 4242 0 -1 4194560 10 0 0 0 2 0 0 0 20 0 9 0",
    "",
  ].join("\n");
  assert.deepEqual(cpuOfStats(text, 4242), { js: 1680, kv: 500, other: 100 });
});

Deno.test("processCpu() - a child's work on its JavaScript thread is counted there", {
  ignore: Deno.build.os !== "linux",
}, async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "const end = Date.now() + 400; while (Date.now() < end); setInterval(() => {}, 1000)",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const before = await processCpu(child.pid);
    assert.ok(before, "the child's /proc entries are readable");
    await new Promise((resolve) => setTimeout(resolve, 700));
    const spent = cpuSince(before, (await processCpu(child.pid))!);
    // It spun for most of the 700 ms; ticks are 10 ms and the machine may be busy.
    assert.ok(spent.js >= 100, `js ${spent.js} ms`);
    assert.equal(spent.kv, 0, "no KV opened");
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
