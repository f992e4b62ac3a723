import assert from "node:assert/strict";
import { createLogger } from "../../core/log.ts";

/*
 * The process log writer (core/log.ts `writeLine`): stdout lines are gathered and written
 * together, and none is lost when the process ends, whether it runs out of work or calls
 * `Deno.exit`, or logs a warning (which writes what was gathered first).
 */

const LOG = new URL("../../core/log.ts", import.meta.url).href;

async function run(script: string): Promise<{ stdout: string[]; stderr: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `import { createLogger } from "${LOG}";\n${script}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = (bytes: Uint8Array) =>
    new TextDecoder().decode(bytes).split("\n").filter((line) => line.length > 0);
  return { stdout: lines(out.stdout), stderr: lines(out.stderr) };
}

Deno.test("log writer - every line reaches stdout in order when the process runs out of work", async () => {
  const { stdout } = await run(
    `const log = createLogger({ json: true });
     for (let i = 0; i < 5000; i++) log.info("request", { i });`,
  );
  assert.equal(stdout.length, 5000);
  assert.deepEqual(stdout.map((line) => JSON.parse(line).i), [...Array(5000).keys()]);
});

Deno.test("log writer - Deno.exit right after a line still writes it", async () => {
  const { stdout } = await run(
    `const log = createLogger({ json: false });
     log.info("last words", { code: 0 });
     Deno.exit(0);`,
  );
  assert.equal(stdout.length, 1);
  assert.match(stdout[0], /^INFO {2}last words {2}code=0$/);
});

Deno.test("log writer - warnings go to stderr, the gathered info lines to stdout", async () => {
  const { stdout, stderr } = await run(
    `const log = createLogger({ json: true });
     log.info("before");
     log.warn("careful");
     Deno.exit(0);`,
  );
  assert.deepEqual(stdout.map((line) => JSON.parse(line).message), ["before"]);
  assert.deepEqual(stderr.map((line) => JSON.parse(line).message), ["careful"]);
});

Deno.test("json log lines - the same object as a stringify of it all, fields after the three, whatever they hold", () => {
  const lines: string[] = [];
  const log = createLogger({ json: true, write: (line) => lines.push(line) });
  const cases: [string, Record<string, unknown>][] = [
    ["request", {}],
    ["request", { request_id: "r-1", status: 200, ms: 3, path: '/a"b\\c\u2028' }],
    ['quote " and\nnewline', { nested: { a: [1, null, "x"] }, skipped: undefined }],
    // A field named like one of the three wins, as it did in the spread.
    ["shadowed", { message: "from the fields", level: "x" }],
  ];
  for (const [message, fields] of cases) log.info(message, fields);
  lines.forEach((line, i) => {
    const parsed = JSON.parse(line);
    const [message, fields] = cases[i];
    assert.match(parsed.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(parsed.time) - Date.now()) < 5_000);
    const { time: _, ...rest } = parsed;
    assert.deepEqual(rest, JSON.parse(JSON.stringify({ level: "info", message, ...fields })));
    assert.deepEqual(Object.keys(parsed).slice(0, 3), ["time", "level", "message"]);
  });
});
