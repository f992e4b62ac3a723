import assert from "node:assert/strict";
import { openKv } from "../../kv/open.ts";
import { startKvConnect } from "../fakes/kv_connect.ts";
import { startWebhookReceiver } from "../../fakes/webhook_receiver.ts";
import { startServerProcess } from "../fixtures/server_process.ts";
import { startHarness, TEST_SECRET } from "../helpers.ts";

/*
 * Doorman over KV Connect, the protocol of a self-hosted denokv and of a Deno Deploy KV used
 * from outside: a fake server on loopback speaks it (tests/fakes/kv_connect.ts), refusing
 * what denokv refuses. No denokv binary ships in any npm package, so the real one is not run.
 */

/** Runs `body` with `DENO_KV_ACCESS_TOKEN` set (Deno reads it when a URL is opened). */
async function withToken<T>(token: string, body: () => Promise<T>): Promise<T> {
  const before = Deno.env.get("DENO_KV_ACCESS_TOKEN");
  Deno.env.set("DENO_KV_ACCESS_TOKEN", token);
  try {
    return await body();
  } finally {
    if (before === undefined) Deno.env.delete("DENO_KV_ACCESS_TOKEN");
    else Deno.env.set("DENO_KV_ACCESS_TOKEN", before);
  }
}

/** A loopback port nothing listens on (taken, then given back). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("openKv() - a KV Connect URL signs people in over the protocol, token sent as Bearer", async () => {
  await using server = startKvConnect();
  const kv = await withToken(server.token, () => openKv(server.url));
  try {
    await using h = await startHarness({ kv });
    const session = await h.signIn("+14155550100");
    const me = await h.get("/api/v1/me", { token: session.access_token });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).user.phone, "+14155550100");
    const refreshed = await h.post("/api/v1/auth/refresh", {
      refresh_token: session.refresh_token,
    });
    assert.equal(refreshed.status, 200);
    await refreshed.body?.cancel();
    const beat = await h.post("/api/v1/presence/heartbeat", {}, { token: session.access_token });
    assert.equal(beat.status, 200);
    assert.equal((await beat.json()).status, "online");
    await h.ctx.commits.flush();
  } finally {
    kv.close();
  }
  assert.ok(server.exchanges >= 1, "the token was accepted");
  assert.ok(server.writes > 0 && server.reads > 0);
  assert.deepEqual(server.refusedWrites, []);
  // No directory was made for the URL (a file path's directory is).
  await assert.rejects(Deno.stat("http:"), Deno.errors.NotFound);
});

Deno.test("openKv() - the server refuses an 11th check, as denokv does (the local file allows 100)", async () => {
  await using server = startKvConnect();
  const kv = await withToken(server.token, () => openKv(server.url));
  try {
    const op = kv.atomic();
    for (let i = 0; i < 11; i++) op.check({ key: ["k", i], versionstamp: null });
    await assert.rejects(op.commit(), /Too many checks included in atomic write/);
    const ten = kv.atomic();
    for (let i = 0; i < 10; i++) ten.check({ key: ["k", i], versionstamp: null });
    assert.equal((await ten.set(["k", "done"], true).commit()).ok, true);
  } finally {
    kv.close();
  }
});

Deno.test("openKv() - a wrong token fails at once with the server's answer", async () => {
  await using server = startKvConnect();
  const started = performance.now();
  await withToken("not-the-token-not-the-token", async () => {
    await assert.rejects(openKv(server.url), /401 Unauthorized: Invalid access token/);
  });
  assert.ok(performance.now() - started < 2_000, "a refused token is not retried");
  assert.equal(server.refusedTokens, 1);
});

Deno.test("openKv() - a KV Connect server that is not up yet is waited for, then given up on", async () => {
  const port = freePort();
  const token = "kv-connect-test-token-0123456789";
  await withToken(token, async () => {
    let server: ReturnType<typeof startKvConnect> | undefined;
    const later = setTimeout(() => server = startKvConnect({ token, port }), 300);
    try {
      const kv = await openKv(`http://127.0.0.1:${port}`, { connectWithinMs: 5_000 });
      kv.close();
      assert.equal(server?.exchanges, 1);
    } finally {
      clearTimeout(later);
      await server?.close();
    }
    await assert.rejects(
      openKv(`http://127.0.0.1:${freePort()}`, { connectWithinMs: 200 }),
      /Cannot open KV at http:\/\/127\.0\.0\.1:\d+: not reachable within 200 ms/,
    );
  });
});

Deno.test("openKv() - a file path gets its directory made first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kv = await openKv(`${dir}/nested/deeper/kv.sqlite`);
    await kv.set(["a"], 1);
    kv.close();
    assert.ok((await Deno.stat(`${dir}/nested/deeper/kv.sqlite`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main - KV_PATH=http://… with DENO_KV_ACCESS_TOKEN serves from a KV Connect server", async () => {
  await using kvServer = startKvConnect();
  await using sms = startWebhookReceiver({ secret: "sms-hook-secret" });
  const env = {
    APP_ENV: "test",
    JWT_SECRET: TEST_SECRET,
    KV_PATH: kvServer.url,
    DENO_KV_ACCESS_TOKEN: kvServer.token,
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: sms.url,
    SMS_WEBHOOK_SECRET: "sms-hook-secret",
  };
  {
    await using main = await startServerProcess(env);
    const health = await fetch(`${main.url}/api/v1/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).kv, "ok");
    const requested = await fetch(`${main.url}/api/v1/auth/otp/request`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: "+14155550101" }),
    });
    assert.equal(requested.status, 202);
    const { request_id } = await requested.json();
    const verified = await fetch(`${main.url}/api/v1/auth/otp/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ request_id, code: sms.lastCode("+14155550101") }),
    });
    assert.equal(verified.status, 200);
    assert.equal((await verified.json()).user.phone, "+14155550101");
  }
  assert.ok(kvServer.exchanges >= 1);
  assert.deepEqual(kvServer.refusedWrites, []);

  // A wrong token stops the start with one line that says why.
  await assert.rejects(
    startServerProcess({ ...env, DENO_KV_ACCESS_TOKEN: "not-the-token-not-the-token" }),
    /Cannot start: .*401 Unauthorized: Invalid access token/,
  );
});
