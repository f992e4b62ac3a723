import assert from "node:assert/strict";
import { startServerProcess } from "../fixtures/server_process.ts";
import { TEST_SECRET } from "../helpers.ts";

const PRELOAD = decodeURIComponent(new URL("./reject_on_signal.ts", import.meta.url).pathname);

Deno.test("unhandled rejection - is logged in one line without secrets, and the process keeps serving", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await startServerProcess({
      APP_ENV: "test",
      JWT_SECRET: TEST_SECRET,
      SMS_PROVIDER: "none",
      EMAIL_PROVIDER: "none",
      KV_PATH: `${dir}/kv.sqlite`,
    }, { preload: PRELOAD });
    for (let round = 1; round <= 2; round++) {
      server.child.kill("SIGUSR2");
      const logged = () => server.lines.filter((l) => /unhandled promise rejection/.test(l));
      for (let i = 0; i < 50 && logged().length < 2 * round; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(logged().length, 2 * round, server.lines.join("\n"));
      const res = await fetch(`${server.url}/health`);
      assert.equal(res.status, 200, "still serving");
      await res.body?.cancel();
    }
    const lines = server.lines.filter((l) => /unhandled promise rejection/.test(l));
    assert.match(lines[0], /^ERROR unhandled promise rejection {2}error=Error: nobody awaited/);
    assert.match(lines[0], /at=at .*reject_on_signal\.ts/);
    assert.match(lines[1], /error=object$/);
    assert.ok(!server.lines.some((l) => /tok_never_logged/.test(l)), "the token stays out");
    assert.ok(!server.lines.some((l) => /Uncaught/.test(l)), server.lines.join("\n"));
    server.child.kill("SIGTERM");
    assert.equal((await server.status).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
