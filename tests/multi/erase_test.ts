import assert from "node:assert/strict";
import { callJson } from "../../bench/doorman_process.ts";
import { startInstances } from "./instances.ts";

/*
 * Two real `main.ts` processes on one KV file: a user erased through A has their sockets on
 * both closed with 4001 within a second, a watcher on B sees them as an unknown id, and no
 * token of theirs works on either.
 */

const PHONE = "+14155550150";
const WATCHER = "+14155550151";

Deno.test("instances - two processes: an erased user's sockets close with 4001 on both within 1 s", async () => {
  await using instances = await startInstances("erase");
  const [a, b] = instances.servers;
  const sockets: WebSocket[] = [];
  try {
    const signIn = (phone: string) => instances.signIn(phone, { verify: b });
    /** Opens a socket on `server` and resolves once it said `ready`; queues what follows. */
    const open = async (server: { url: string }, token: string) => {
      const ticket = await callJson(`${server.url}/api/v1/presence/ws-ticket`, {
        method: "POST",
        token,
      });
      assert.equal(ticket.status, 200, ticket.text);
      const url = `${server.url.replace(/^http/, "ws")}/api/v1/presence/ws?ticket=${
        ticket.body!.ticket
      }`;
      const socket = new WebSocket(url);
      sockets.push(socket);
      const messages: Record<string, unknown>[] = [];
      const closed = new Promise<{ code: number; at: number }>((resolve) => {
        socket.onclose = (event) => resolve({ code: event.code, at: performance.now() });
      });
      await new Promise<void>((resolve, reject) => {
        socket.onmessage = (event) => {
          const message = JSON.parse(String(event.data));
          messages.push(message);
          if (message.type === "ready") resolve();
        };
        socket.onerror = () => reject(new Error("socket refused"));
      });
      return { socket, messages, closed };
    };

    const user = await signIn(PHONE);
    const watcher = await signIn(WATCHER);
    const onA = await open(a, user.access_token);
    const onB = await open(b, user.access_token);
    const onB2 = await open(b, user.access_token);
    const watching = await open(b, watcher.access_token);
    watching.socket.send(JSON.stringify({ type: "subscribe", user_ids: [user.user.id] }));
    await waitUntil(() =>
      watching.messages.some((m) => m.type === "presence" && m.status === "online")
    );

    const res = await fetch(`${a.url}/api/v1/me`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${user.access_token}` },
    });
    assert.equal(res.status, 204, await res.text());
    const answered = performance.now();
    const closes = await Promise.all([onA.closed, onB.closed, onB2.closed]);
    for (const close of closes) {
      assert.equal(close.code, 4001);
      const ms = close.at - answered;
      assert.ok(ms < 1_000, `closed ${Math.round(ms)} ms after the erasure`);
    }
    // The watcher on B sees the erased id as an unknown one, and stays open itself.
    await waitUntil(() =>
      watching.messages.some((m) =>
        m.type === "presence" && m.user_id === user.user.id && m.status === "offline" &&
        m.last_seen === null
      )
    );
    assert.equal(watching.socket.readyState, WebSocket.OPEN);

    for (const server of [a, b]) {
      const me = await callJson(`${server.url}/api/v1/me`, {
        method: "GET",
        token: user.access_token,
      });
      assert.equal(me.status, 401, me.text);
      const refreshed = await callJson(`${server.url}/api/v1/auth/refresh`, {
        method: "POST",
        body: { refresh_token: user.refresh_token },
      });
      assert.equal(refreshed.status, 401, refreshed.text);
      const presence = await callJson(
        `${server.url}/api/v1/presence?user_ids=${user.user.id}`,
        { method: "GET", token: watcher.access_token },
      );
      assert.deepEqual(presence.body!.users, [
        { user_id: user.user.id, status: "offline", last_seen: null },
      ]);
    }
    const again = await signIn(PHONE);
    assert.notEqual(again.user.id, user.user.id);
  } finally {
    for (const socket of sockets) socket.close();
  }
});

async function waitUntil(check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
