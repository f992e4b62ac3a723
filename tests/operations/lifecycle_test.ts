import assert from "node:assert/strict";
import { startServerProcess } from "../fixtures/server_process.ts";
import { TEST_SECRET } from "../helpers.ts";

const ENV = {
  APP_ENV: "test",
  JWT_SECRET: TEST_SECRET,
  SMS_PROVIDER: "webhook",
  EMAIL_PROVIDER: "none",
};

/** An SMS receiver that answers after `delayMs`, as a slow provider does. */
function slowReceiver(delayMs: number) {
  let last = "";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    last = (await req.json()).text;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return Response.json({ ok: true });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/send`,
    code: () => last.match(/code is (\d+)/)?.[1],
    close: () => server.shutdown(),
  };
}

Deno.test("shutdown - SIGTERM: stops accepting, finishes requests in flight, closes sockets 1001, exits 0", async () => {
  const dir = await Deno.makeTempDir();
  const sms = slowReceiver(0);
  try {
    await using server = await startServerProcess({
      ...ENV,
      KV_PATH: `${dir}/kv.sqlite`,
      SMS_WEBHOOK_URL: sms.url,
      ADMIN_PHONES: "+14155550000",
    });
    const post = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    // A signed-in admin with an open socket and an open event stream.
    const { request_id } = await (await post("/api/v1/auth/otp/request", { phone: "+14155550000" }))
      .json();
    const signIn = await (await post("/api/v1/auth/otp/verify", { request_id, code: sms.code() }))
      .json();
    const { ticket } = await (await fetch(`${server.url}/api/v1/presence/ws-ticket`, {
      method: "POST",
      headers: { authorization: `Bearer ${signIn.access_token}` },
    })).json();
    const socket = new WebSocket(
      `${server.url.replace("http", "ws")}/api/v1/presence/ws?ticket=${ticket}`,
    );
    const closed = new Promise<number>((resolve) => socket.onclose = (e) => resolve(e.code));
    await new Promise((resolve) => socket.onmessage = resolve); // ready
    const stream = await fetch(`${server.url}/api/v1/admin/events`, {
      headers: { authorization: `Bearer ${signIn.access_token}` },
    });
    const streamEnded = stream.body!.pipeTo(new WritableStream()).then(
      () => "ended",
      () => "ended",
    );

    // A request in flight when the signal comes: its provider takes a second to answer.
    const slow = slowReceiver(1_000);
    await using slowServer = await startServerProcess({
      ...ENV,
      KV_PATH: `${dir}/kv2.sqlite`,
      SMS_WEBHOOK_URL: slow.url,
    });
    const inFlight = fetch(`${slowServer.url}/api/v1/auth/otp/request`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: "+14155550101" }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalled = performance.now();
    slowServer.child.kill("SIGTERM");
    server.child.kill("SIGTERM");
    const answer = await inFlight;
    assert.equal(answer.status, 202, "the request in flight was answered");
    await answer.body?.cancel();
    assert.equal((await slowServer.status).code, 0);
    assert.equal((await server.status).code, 0);
    assert.ok(performance.now() - signalled < 10_000);
    assert.equal(await closed, 1001, "sockets are told the server is going away");
    assert.equal(await streamEnded, "ended", "event streams end");
    // Stopped accepting.
    await assert.rejects(fetch(`${slowServer.url}/health`));
    assert.ok(server.lines.some((line) => /stopping\s+reason=SIGTERM/.test(line)));
    await slow.close();
  } finally {
    await sms.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("descriptors - running out of file descriptors never ends the process; it serves again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await startServerProcess(
      { ...ENV, SMS_PROVIDER: "none", KV_PATH: `${dir}/kv.sqlite` },
      { openFiles: 256 },
    );
    const port = Number(new URL(server.url).port);
    // Idle connections that never send a byte, until the server's descriptors run out.
    const idle: Deno.Conn[] = [];
    for (let i = 0; i < 400; i++) {
      try {
        idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      } catch {
        break; // refused: the listener stopped while it has no descriptors
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const conn of idle) conn.close();
    // It is still running, and serves again once the connections are gone.
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ok = await fetch(`${server.url}/health`).then(async (res) => {
        await res.body?.cancel();
        return res.status === 200;
      }, () => false);
    }
    assert.ok(ok, `no answer after the connections closed:\n${server.lines.join("\n")}`);
    const exited = await Promise.race([
      server.status.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 100)),
    ]);
    assert.equal(exited, false, "the process is still running");
    assert.ok(idle.length > 200, `only ${idle.length} connections got in`);
    assert.ok(
      server.lines.some((line) => /the HTTP listener failed/.test(line)),
      "it ran out and said so",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
