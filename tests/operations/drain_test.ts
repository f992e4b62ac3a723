import assert from "node:assert/strict";
import { startServerProcess } from "../fixtures/server_process.ts";
import { TEST_SECRET } from "../helpers.ts";

const encoder = new TextEncoder();

/** An SMS receiver on 127.0.0.1 that accepts every message. */
function smsReceiver() {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.text();
    return Response.json({ ok: true });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/send`, close: () => server.shutdown() };
}

/** A raw HTTP/1.1 answer: its status, headers (lower-cased names) and body. */
interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Reads one answer from `conn` (headers, then `content-length` bytes of body). */
async function readAnswer(conn: Deno.Conn): Promise<RawAnswer> {
  const decoder = new TextDecoder();
  let text = "";
  const buffer = new Uint8Array(16_384);
  for (;;) {
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers = new Map(lines.map((line) => {
        const at = line.indexOf(":");
        return [line.slice(0, at).toLowerCase(), line.slice(at + 1).trim()];
      }));
      const length = Number(headers.get("content-length") ?? 0);
      if (encoder.encode(text.slice(end + 4)).length >= length) {
        return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(end + 4) };
      }
    }
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`the connection closed mid-answer: ${JSON.stringify(text)}`);
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
}

/** Opens a connection and sends a code request's headers and the first `sent` bytes of its body. */
async function startCodeRequest(port: number, body: string, sent: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(
    "POST /api/v1/auth/otp/request HTTP/1.1\r\nhost: 127.0.0.1\r\n" +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n` +
      body.slice(0, sent),
  ));
  return conn;
}

Deno.test("shutdown - a body still arriving at SIGTERM gets its real answer; new requests 503 with Retry-After; the drain is bounded", async () => {
  const dir = await Deno.makeTempDir();
  const sms = smsReceiver();
  const conns: Deno.Conn[] = [];
  try {
    await using server = await startServerProcess({
      APP_ENV: "test",
      JWT_SECRET: TEST_SECRET,
      SMS_PROVIDER: "webhook",
      SMS_WEBHOOK_URL: sms.url,
      SMS_WEBHOOK_SECRET: "s".repeat(32),
      EMAIL_PROVIDER: "none",
      KV_PATH: `${dir}/kv.sqlite`,
    });
    const port = Number(new URL(server.url).port);
    const body = JSON.stringify({ phone: "+14155550101" });
    // Headers and half the body, then the signal.
    const halfway = await startCodeRequest(port, body, 8);
    // Another whose body never completes: the drain must not wait for it forever.
    const stuck = await startCodeRequest(port, JSON.stringify({ phone: "+14155550102" }), 5);
    conns.push(halfway, stuck);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalled = performance.now();
    server.child.kill("SIGTERM");
    for (let i = 0; i < 50 && !server.lines.some((l) => /stopping\s+reason=SIGTERM/.test(l)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // A request that comes while draining goes elsewhere.
    const late = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(late);
    await late.write(encoder.encode("GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"));
    const refused = await readAnswer(late);
    assert.equal(refused.status, 503, refused.body);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal(JSON.parse(refused.body).error.code, "SHUTTING_DOWN");

    // The rest of the body: the request begun before the signal is served in full.
    await halfway.write(encoder.encode(body.slice(8)));
    const answer = await readAnswer(halfway);
    assert.equal(answer.status, 202, answer.body);
    assert.match(JSON.parse(answer.body).request_id, /\S/);

    const status = await server.status;
    const ms = performance.now() - signalled;
    assert.equal(status.code, 0);
    assert.ok(ms >= 9_000 && ms < 14_000, `the stuck body was waited for ${ms} ms, not 10 s`);
    assert.ok(server.lines.some((l) => /still running after the drain time/.test(l)));
    assert.ok(
      !server.lines.some((l) => /not valid JSON|Malformed JSON/.test(l)),
      server.lines.join("\n"),
    );
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // Closed by the server.
      }
    }
    await sms.close();
    await Deno.remove(dir, { recursive: true });
  }
});
