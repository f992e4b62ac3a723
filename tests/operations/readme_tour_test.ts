/**
 * The README's "Try it with curl" tour, run as written: its shell blocks, in order, in one bash
 * (`set -eu`, so a variable used before it is set fails), against a real `main.ts` in
 * development on a random port. `BASE` is the one line changed (as the tour tells a reader on
 * another port to), and each `CODE=` line takes the code the console provider printed, as the
 * tour tells the reader to. Each block's output is compared with the answer shown after it.
 */
import assert from "node:assert/strict";
import { baseEnv, outputOf, startDoorman, stopDoorman } from "../../bench/doorman_process.ts";

const README = new URL("../../README.md", import.meta.url);

/** A fenced block of the README: its language and text. */
interface Block {
  lang: string;
  text: string;
  /** The block right after it (only blank lines between), if any: the answer it shows. */
  answer?: Block;
}

/** The fenced blocks of `markdown`, each with the answer block that follows it. */
function blocksOf(markdown: string): Block[] {
  const fence = /^```(\w*)\n([\s\S]*?)^```\n/gm;
  const blocks: (Block & { start: number; end: number })[] = [];
  for (const match of markdown.matchAll(fence)) {
    blocks.push({
      lang: match[1],
      text: match[2],
      start: match.index,
      end: match.index + match[0].length,
    });
  }
  for (let i = 0; i + 1 < blocks.length; i++) {
    if (markdown.slice(blocks[i].end, blocks[i + 1].start).trim() === "") {
      blocks[i].answer = blocks[i + 1];
    }
  }
  return blocks;
}

/** The README section under `heading`, up to the next heading of the same level. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `no "${heading}" in README.md`);
  const next = markdown.indexOf("\n## ", start + heading.length + 2);
  return markdown.slice(start, next < 0 ? undefined : next);
}

/** Object keys at every depth (arrays by their first element), to compare shapes. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (value === null || typeof value !== "object") return typeof value;
  return Object.fromEntries(
    Object.keys(value).sort().map((key) => [key, shape((value as Record<string, unknown>)[key])]),
  );
}

/** One bash that keeps its variables from block to block; `run` answers what a block printed. */
function bashSession(env: Record<string, string>) {
  const child = new Deno.Command("bash", {
    args: ["--noprofile", "--norc", "-s"],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const errors: string[] = [];
  const stderrDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      errors.push(chunk);
    }
  })();
  let buffered = "";
  const DONE = "@@block-done@@";
  return {
    async run(script: string): Promise<string> {
      await writer.write(new TextEncoder().encode(`${script}\necho ${DONE}\n`));
      while (!buffered.includes(`${DONE}\n`)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`bash ended:\n${script}\nstderr: ${errors.join("")}`);
        buffered += value;
      }
      const [out, ...rest] = buffered.split(`${DONE}\n`);
      buffered = rest.join(`${DONE}\n`);
      return out;
    },
    async close() {
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await child.status;
      await stderrDone;
    },
  };
}

Deno.test("README - the curl tour runs as written with BASE on another port", async () => {
  const readme = await Deno.readTextFile(README);
  const tour = section(readme, "## Try it with curl");
  const blocks = blocksOf(tour);
  const scripts = blocks.filter((block) => block.lang === "sh");
  assert.ok(scripts.length >= 8, `${scripts.length} shell blocks`);
  assert.doesNotMatch(
    scripts.slice(1).map((block) => block.text).join("\n"),
    /localhost:\d+/,
    "every command after the first block goes through $BASE",
  );
  assert.match(scripts[0].text, /^BASE=http:\/\/localhost:8000\n$/);
  // Started the way the tour says: ADMIN_EMAILS=admin@example.com deno task dev.
  assert.match(tour, /`ADMIN_EMAILS=admin@example\.com deno task dev`/);

  const dir = await Deno.makeTempDir();
  const server = await startDoorman("tour", {
    ...baseEnv(),
    APP_ENV: "development",
    KV_PATH: `${dir}/kv.sqlite`,
    PORT: "0",
    ADMIN_EMAILS: "admin@example.com",
  });
  const bash = bashSession({ PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" });
  try {
    await bash.run("set -eu");
    let codesSeen = 0;
    for (const [i, block] of scripts.entries()) {
      let script = i === 0 ? `BASE=${server.url}\n` : block.text;
      if (/^CODE=\d+$/m.test(script)) {
        const code = await nextCode(server.stdout, codesSeen++);
        script = script.replace(/^CODE=\d+$/m, `CODE=${code}`);
      }
      const out = await bash.run(script);
      const shown = block.answer;
      if (!shown) continue;
      const context = `block ${i}:\n${block.text}\nprinted:\n${out}`;
      if (shown.lang === "json") {
        assert.deepEqual(shape(JSON.parse(out)), shape(JSON.parse(shown.text)), context);
      } else if (shown.lang === "text" || shown.lang === "") {
        assert.equal(out.trim(), shown.text.trim(), context);
      }
    }
    assert.equal(codesSeen, 2, "the user's and the admin's code");
  } catch (error) {
    throw new Error(`${error}\n${outputOf(server)}`);
  } finally {
    await bash.close();
    await stopDoorman(server, "SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README - every variable its shell commands use is set in one of them", async () => {
  const readme = await Deno.readTextFile(README);
  const scripts = blocksOf(readme).filter((block) => block.lang === "sh" || block.lang === "bash");
  const text = scripts.map((block) => block.text).join("\n");
  const set = new Set(
    [...text.matchAll(/(?:^|[\s;(])(?:export\s+)?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]),
  );
  const used = new Set([...text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
  const unset = [...used].filter((name) => !set.has(name));
  assert.deepEqual(unset, [], `used but never set: ${unset.join(", ")}`);
});

/** The `n`th code the console provider printed (0 is the first), waiting for it a little. */
async function nextCode(lines: string[], n: number): Promise<string> {
  for (let waited = 0; waited < 5_000; waited += 50) {
    const codes = lines.flatMap((line) => line.match(/ to [^\]]+\] .*code is (\d+)/)?.[1] ?? []);
    if (codes.length > n) return codes[n];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no code #${n + 1} in the server's log`);
}
