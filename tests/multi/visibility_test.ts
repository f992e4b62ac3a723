import assert from "node:assert/strict";
import { callJson } from "../../bench/doorman_process.ts";
import { startInstances } from "./instances.ts";

/*
 * Two real `main.ts` processes on one KV file: a user hides on A, and a watcher on B loses
 * sight within a second — on its socket (`offline`, never seen) and in B's bulk query — and
 * gains it back the same way. B learns of the change only through the event tail.
 */

Deno.test("instances - two processes: a visibility or contacts change on one reaches the other's sockets and queries within 1 s", async () => {
  await using instances = await startInstances("visibility");
  const [a, b] = instances.servers;
  let socket: WebSocket | null = null;
  try {
    const signIn = (phone: string) => instances.signIn(phone, { verify: a });
    const send = async (method: "PATCH" | "PUT", path: string, token: string, body: unknown) => {
      const res = await fetch(`${a.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
    };
    const owner = await signIn("+14155550101");
    const watcher = await signIn("+14155550102");
    const hidden = { type: "presence", user_id: owner.user.id, status: "offline", last_seen: null };

    // The watcher's socket, on B.
    const ticket = await callJson(`${b.url}/api/v1/presence/ws-ticket`, {
      method: "POST",
      token: watcher.access_token,
    });
    assert.equal(ticket.status, 200, ticket.text);
    socket = new WebSocket(
      `${b.url.replace(/^http/, "ws")}/api/v1/presence/ws?ticket=${ticket.body!.ticket}`,
    );
    const inbox: Record<string, unknown>[] = [];
    let wake: (() => void) | null = null;
    socket.onmessage = (event) => {
      inbox.push(JSON.parse(String(event.data)));
      wake?.();
    };
    const next = async (ms: number) => {
      const deadline = performance.now() + ms;
      while (inbox.length === 0) {
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`no message within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return inbox.shift()!;
    };
    assert.equal((await next(5_000)).type, "ready");
    socket.send(JSON.stringify({ type: "subscribe", user_ids: [owner.user.id] }));
    const seen = await next(5_000);
    assert.equal(seen.status, "online");
    const real = seen;
    const queryOnB = async () => {
      const answer = await callJson(`${b.url}/api/v1/presence?user_ids=${owner.user.id}`, {
        method: "GET",
        token: watcher.access_token,
      });
      assert.equal(answer.status, 200, answer.text);
      return (answer.body!.users as Record<string, unknown>[])[0];
    };
    assert.equal((await queryOnB()).status, "online", "B has the owner cached as visible");
    // B finds A among the running instances every 2 s, then reads A's events from the first
    // (the owner's sign-in comes again as a push): from then on B follows A as it logs.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    for (const message of inbox.splice(0)) assert.equal(message.status, "online");

    // Hidden from everyone, on A: B's socket loses sight within a second, and B's query too.
    await send("PATCH", "/api/v1/me", owner.access_token, { presence_visibility: "nobody" });
    let changed = performance.now();
    assert.deepEqual(await next(1_000), hidden);
    const lost = performance.now() - changed;
    assert.deepEqual(await queryOnB(), {
      user_id: owner.user.id,
      status: "offline",
      last_seen: null,
    });

    // Visible to contacts, the watcher among them: sight comes back with the real presence.
    await send("PUT", "/api/v1/me/presence-contacts", owner.access_token, {
      user_ids: [watcher.user.id],
    });
    await send("PATCH", "/api/v1/me", owner.access_token, { presence_visibility: "contacts" });
    changed = performance.now();
    assert.deepEqual(await next(1_000), real);
    assert.equal((await queryOnB()).status, "online");

    // Taken off the contact list, on A: lost again.
    await send("PUT", "/api/v1/me/presence-contacts", owner.access_token, { user_ids: [] });
    changed = performance.now();
    assert.deepEqual(await next(1_000), hidden);
    const lostAgain = performance.now() - changed;
    assert.equal((await queryOnB()).status, "offline");
    console.log(
      `  lost sight on the other process after ${lost.toFixed(0)} ms and ${
        lostAgain.toFixed(0)
      } ms`,
    );
  } finally {
    socket?.close();
  }
});
