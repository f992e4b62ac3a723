import assert from "node:assert/strict";
import { hashRefreshToken } from "../../core/auth/tokens.ts";
import { revokeSession } from "../../kv/sessions.ts";
import {
  type Harness,
  openSocket,
  serveHarness,
  setUserStatus,
  startHarness,
  ticketUrl,
  waitFor,
} from "../helpers.ts";

const ADMIN = "+14155550000";

/** A WebSocket handshake sent by hand, so the answer to a refused one can be read whole. */
async function handshake(
  wsUrl: string,
  options: { ticket?: string; upgrade?: boolean } = {},
): Promise<{ status: number; contentType: string; body: string }> {
  const { hostname, port, pathname } = new URL(wsUrl);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const query = options.ticket === undefined ? "" : `?ticket=${options.ticket}`;
    const lines = [
      `GET ${pathname}${query} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      ...(options.upgrade === false ? [] : [
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
      ]),
      "",
      "",
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    // Bytes, not text: `content-length` counts bytes.
    let bytes = new Uint8Array(0);
    const buf = new Uint8Array(16_384);
    while (true) {
      const text = new TextDecoder().decode(bytes);
      const at = text.indexOf("\r\n\r\n");
      if (at >= 0) {
        const head = text.slice(0, at);
        const status = Number(head.split(" ")[1]);
        const contentType = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1] ?? "";
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
        if (status === 101) return { status, contentType, body: "" };
        const body = bytes.subarray(new TextEncoder().encode(head).length + 4);
        if (body.length >= length) {
          return { status, contentType, body: new TextDecoder().decode(body.subarray(0, length)) };
        }
      }
      const n = await conn.read(buf);
      if (n === null) throw new Error(`connection closed after: ${text}`);
      bytes = new Uint8Array([...bytes, ...buf.subarray(0, n)]);
    }
  } finally {
    conn.close();
  }
}

/** A fresh ticket of `token`'s sign-in. */
async function ticketOf(h: Harness, token: string): Promise<string> {
  const url = new URL(await ticketUrl(h, "ws://x/", token));
  return url.searchParams.get("ticket")!;
}

function assertUnauthorized(answer: { status: number; contentType: string; body: string }) {
  assert.equal(answer.status, 401, answer.body);
  assert.match(answer.contentType, /^application\/json/);
  assert.equal(JSON.parse(answer.body).error.code, "UNAUTHORIZED");
}

Deno.test("ws ticket - POST /api/v1/presence/ws-ticket needs a Bearer and answers { ticket, expires_in: 30 }, stored only hashed", async () => {
  await using h = await startHarness();
  const anonymous = await h.post("/api/v1/presence/ws-ticket", {});
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).error.code, "UNAUTHORIZED");

  const session = await h.signIn("+14155550100");
  const res = await h.post("/api/v1/presence/ws-ticket", {}, { token: session.access_token });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = await res.json();
  assert.deepEqual(Object.keys(body).sort(), ["expires_in", "ticket"]);
  assert.equal(body.expires_in, 30);
  assert.match(body.ticket, /^[A-Za-z0-9_-]{43}$/);

  const stored = [];
  for await (const entry of h.ctx.kv.list({ prefix: ["socket_tickets"] })) stored.push(entry);
  assert.equal(stored.length, 1);
  assert.deepEqual(stored[0].key, ["socket_tickets", await hashRefreshToken(body.ticket)]);
  assert.ok(!JSON.stringify(stored[0].value).includes(body.ticket), "the ticket is not stored");
});

Deno.test("ws ticket - no ticket, or a bad, unknown, expired or used one: 401 JSON and no upgrade", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const session = await h.signIn("+14155550100");

  assertUnauthorized(await handshake(server.wsUrl));
  assertUnauthorized(await handshake(server.wsUrl, { ticket: "" }));
  assertUnauthorized(await handshake(server.wsUrl, { ticket: "not-a-ticket" }));
  assertUnauthorized(await handshake(server.wsUrl, { ticket: "A".repeat(43) }));
  // Not even a handshake: still 401 first, so nobody learns more without a ticket.
  assertUnauthorized(await handshake(server.wsUrl, { upgrade: false }));

  // Expired: its KV entry may outlive it (expireIn is a lower bound); its stored expiry rules.
  const expired = await ticketOf(h, session.access_token);
  h.clock.advance(30_000);
  assertUnauthorized(await handshake(server.wsUrl, { ticket: expired }));

  const used = await ticketOf(h, session.access_token);
  assert.equal((await handshake(server.wsUrl, { ticket: used })).status, 101);
  assertUnauthorized(await handshake(server.wsUrl, { ticket: used }));

  // The platform's client never gets a socket either.
  const refused = await new Promise<string>((resolve) => {
    const socket = new WebSocket(server.wsUrl);
    socket.onopen = () => resolve("open");
    socket.onerror = () => resolve("refused");
  });
  assert.equal(refused, "refused");
  await waitFor(() => h.ctx.presence.hub.size === 0);
});

Deno.test("ws ticket - a plain GET with a good ticket is 400 and leaves the ticket usable", async () => {
  await using h = await startHarness();
  await using server = serveHarness(h);
  const session = await h.signIn("+14155550100");
  const ticket = await ticketOf(h, session.access_token);
  const plain = await handshake(server.wsUrl, { ticket, upgrade: false });
  assert.equal(plain.status, 400);
  assert.equal(JSON.parse(plain.body).error.code, "VALIDATION_FAILED");
  await using ws = await openSocket(`${server.wsUrl}?ticket=${ticket}`);
  assert.deepEqual(await ws.next(), { type: "ready", user_id: session.user.id });
});

Deno.test("ws ticket - two parallel upgrades with one ticket, on two instances: exactly one opens", async () => {
  await using a = await startHarness();
  await using b = await startHarness({ kv: a.ctx.kv, clock: a.clock });
  await using serverA = serveHarness(a);
  await using serverB = serveHarness(b);
  const session = await a.signIn("+14155550100");
  for (let round = 0; round < 5; round++) {
    const ticket = await ticketOf(a, session.access_token);
    const answers = await Promise.all([
      handshake(serverA.wsUrl, { ticket }),
      handshake(serverB.wsUrl, { ticket }),
      handshake(serverA.wsUrl, { ticket }),
    ]);
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [101, 401, 401], `round ${round}`);
  }
  // Issued on one instance, used on the other.
  const ticket = await ticketOf(a, session.access_token);
  await using ws = await openSocket(`${serverB.wsUrl}?ticket=${ticket}`);
  assert.deepEqual(await ws.next(), { type: "ready", user_id: session.user.id });
});

Deno.test("ws ticket - a ticket whose sign-in ended is refused 401; a disabled account's 403", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  await using server = serveHarness(h);
  const admin = await h.signIn(ADMIN);
  const session = await h.signIn("+14155550100");
  const sid =
    JSON.parse(atob(session.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")))
      .sid;

  const ended = await ticketOf(h, session.access_token);
  await revokeSession(h.ctx.kv, sid, h.clock.now());
  h.clock.advance(1_000); // the sign-in cache's second
  assertUnauthorized(await handshake(server.wsUrl, { ticket: ended }));

  const other = await h.signIn("+14155550101");
  const disabled = await ticketOf(h, other.access_token);
  await setUserStatus(h, admin.access_token, other.user.id, "suspended");
  const answer = await handshake(server.wsUrl, { ticket: disabled });
  assert.equal(answer.status, 403);
  assert.equal(JSON.parse(answer.body).error.code, "ACCOUNT_DISABLED");
  assert.equal(h.ctx.presence.hub.size, 0);
});
