import assert from "node:assert/strict";
import { baseEnv } from "../../bench/doorman_process.ts";
import { portHolder, runToEnd } from "../fixtures/startup.ts";
import { TEST_SECRET } from "../helpers.ts";

Deno.test("startup - a port already in use exits 1 at once, naming the port and PORT", async () => {
  const dir = await Deno.makeTempDir();
  const holder = portHolder();
  try {
    const run = await runToEnd(
      ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"],
      {
        ...baseEnv(),
        APP_ENV: "test",
        JWT_SECRET: TEST_SECRET,
        SMS_PROVIDER: "none",
        EMAIL_PROVIDER: "none",
        KV_PATH: `${dir}/kv.sqlite`,
        PORT: String(holder.port),
      },
      20_000,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
    const line = run.stderr.split("\n").find((l) => /Cannot start/.test(l)) ?? run.stderr;
    assert.match(line, new RegExp(`port ${holder.port} is already in use.*\\bPORT\\b`));
    assert.doesNotMatch(run.stderr + run.stdout, /listening again|Doorman is listening/);
  } finally {
    await holder.close();
    await Deno.remove(dir, { recursive: true });
  }
});
