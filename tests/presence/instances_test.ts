import assert from "node:assert/strict";
import { systemClock } from "../../core/clock.ts";
import { presenceOf } from "../../core/presence/presence.ts";
import { startHarness, waitFor } from "../helpers.ts";

Deno.test("instances - two processes on one KV file see each other's transitions within 2 s", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/kv.sqlite`;
  const kv = await Deno.openKv(path);
  try {
    await using h = await startHarness({ kv, clock: systemClock });
    const remote: { user_id: string; at: number }[] = [];
    h.ctx.bus.subscribe((event) => {
      if (event.instance !== h.ctx.instance && event.data.type === "presence.online") {
        remote.push({ user_id: String(event.data.user_id), at: performance.now() });
      }
    });
    const peer = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "tests/fixtures/presence_peer.ts", path, "+14155550101"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    const nextLine = async () => {
      while (!buffer.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error("peer exited");
        buffer += value;
      }
      const line = buffer.slice(0, buffer.indexOf("\n"));
      buffer = buffer.slice(line.length + 1);
      return line;
    };

    const [, peerUser] = (await nextLine()).split(" ");
    const printedAt = performance.now();
    await waitFor(() => remote.some((e) => e.user_id === peerUser), 2_000);
    const lag = remote.find((e) => e.user_id === peerUser)!.at - printedAt;
    assert.ok(lag < 2_000, `saw the peer's transition after ${lag.toFixed(0)} ms`);
    // Both agree on presence: it is read from the shared KV, not from in-process state.
    assert.equal((await presenceOf(h.ctx, [peerUser]))[0].status, "online");

    const local = await h.signIn("+14155550102");
    const sentAt = performance.now();
    const answer = await nextLine();
    assert.equal(answer, `saw ${local.user.id}`);
    assert.ok(performance.now() - sentAt < 2_000, "the peer saw ours within 2 s");
    assert.equal((await peer.status).code, 0);
    await lines.cancel().catch(() => {});
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("instances - a busy event log still reaches the other instance whole", async () => {
  await using a = await startHarness();
  await using b = await startHarness({ kv: a.ctx.kv, clock: a.clock });
  const received = new Set<string>();
  b.ctx.bus.subscribe((event) => {
    if (event.instance === a.ctx.instance) received.add(event.id);
  });
  const { emitEvent } = await import("../../core/live/emit.ts");
  for (let i = 0; i < 1200; i++) await emitEvent(a.ctx, "user", "user.test", { i });
  await waitFor(() => received.size === 1200, 5_000);
});

Deno.test("instances - suspending on one instance closes the user's socket on another within 1 s", async () => {
  const { openSocket, serveHarness, ticketUrl } = await import("../helpers.ts");
  await using a = await startHarness({ env: { ADMIN_PHONES: "+14155550000" } });
  await using b = await startHarness({
    kv: a.ctx.kv,
    clock: a.clock,
    env: { ADMIN_PHONES: "+14155550000" },
  });
  await using server = serveHarness(b);
  const admin = await a.signIn("+14155550000");
  const user = await a.signIn("+14155550100");
  await using ws = await openSocket(await ticketUrl(a, server.wsUrl, user.access_token));
  await ws.next();
  const started = performance.now();
  const res = await a.app.request(`/api/v1/admin/users/${user.user.id}`, {
    method: "PATCH",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin.access_token}` },
    body: JSON.stringify({ status: "banned" }),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal((await ws.closed).code, 4003);
  assert.ok(performance.now() - started < 1000, `${Math.round(performance.now() - started)} ms`);
});
