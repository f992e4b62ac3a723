import assert from "node:assert/strict";

/** Runs `deno task start` with `env` until it logs `until` (or exits); returns its output. */
async function start(
  env: Record<string, string>,
  until: RegExp,
): Promise<{ code: number | null; out: string }> {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "start"],
    env: { KV_PATH: `${dir}/kv.sqlite`, PORT: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const read = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      if (until.test(out)) {
        try {
          child.kill();
        } catch {
          // Exited by itself.
        }
      }
    }
  };
  await Promise.all([read(child.stdout), read(child.stderr)]);
  const status = await child.status;
  await Deno.remove(dir, { recursive: true });
  return { code: status.success ? 0 : status.code, out };
}

Deno.test("main - `deno task start` serves in development without build permissions", async () => {
  const { out } = await start({ APP_ENV: "development" }, /Doorman is listening/);
  assert.match(out, /Doorman is listening/);
  assert.doesNotMatch(out, /NotCapable|error:/i);
});

Deno.test("main - production refuses to start on an unsafe config, naming every problem", async () => {
  const { code, out } = await start(
    { APP_ENV: "production", SMS_PROVIDER: "console" },
    /never-matches/,
  );
  assert.equal(code, 1);
  assert.match(out, /Invalid configuration:/);
  assert.match(out, /JWT_SECRET: required in production/);
  assert.match(out, /SMS_PROVIDER=console is refused in production/);
});
