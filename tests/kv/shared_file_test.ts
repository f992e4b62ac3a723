import assert from "node:assert/strict";
import { systemClock } from "../../core/clock.ts";
import { loadConfig } from "../../core/config.ts";
import { createContext } from "../../core/context.ts";
import { memoryLogger } from "../../core/log.ts";
import { startHarness } from "../helpers.ts";
import { guardKv } from "../../fakes/kv_guard.ts";

Deno.test("limits - two processes on one KV file share the resend cooldown", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/kv.sqlite`;
  try {
    const kv = await Deno.openKv(path);
    // Real time: the other process has no fake clock to share.
    await using h = await startHarness({ kv, clock: systemClock });
    const other = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-env",
        "tests/fixtures/request_code.ts",
        path,
        "+14155550100",
        h.sms.url,
      ],
      stdout: "piped",
      stderr: "piped",
    });
    const first = await other.output();
    assert.equal(
      new TextDecoder().decode(first.stdout).trim(),
      "202",
      new TextDecoder().decode(first.stderr),
    );
    assert.equal(h.sms.messages.length, 1, "the other process delivered through the same receiver");

    const here = await h.post("/api/v1/auth/otp/request", { phone: "+14155550100" });
    assert.equal(here.status, 429, "this process sees the other's cooldown");
    await here.body?.cancel();
    const second = await other.output();
    assert.equal(new TextDecoder().decode(second.stdout).trim(), "429");
    kv.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config - a development secret is generated once and kept in KV", async () => {
  const kv = guardKv(await Deno.openKv(":memory:"));
  try {
    const config = loadConfig({ APP_ENV: "development" });
    const log = memoryLogger();
    const a = await createContext(config, kv, { log });
    const b = await createContext(config, kv, { log });
    assert.equal(a.tokens.key.length >= 32, true);
    assert.deepEqual(a.tokens.key, b.tokens.key);
    assert.equal(log.lines.filter((l) => l.includes("generated development secret")).length, 1);
    await a.close();
    await b.close();
  } finally {
    kv.close();
  }
});
