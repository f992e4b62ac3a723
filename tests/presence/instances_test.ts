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
