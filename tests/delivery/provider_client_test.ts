import assert from "node:assert/strict";
import { callProvider, DeliveryError, notReached } from "../../core/delivery/channel.ts";
import { codeMessage } from "../../core/delivery/messages.ts";
import {
  ProviderClient,
  type ProviderRequest,
  providerSender,
  proxied,
} from "../../core/delivery/provider_client.ts";
import { httpProviderChannel } from "../../core/delivery/http_provider.ts";
import {
  answer,
  delay,
  eventually,
  type Reply,
  startScriptedServer,
} from "../fakes/scripted_http.ts";
import { startWebhookReceiver } from "../../fakes/webhook_receiver.ts";

/** A signal that never aborts. */
const NEVER = new AbortController().signal;

function post(body: string): ProviderRequest {
  return {
    method: "POST",
    path: "/send?via=test",
    headers: { "content-type": "text/plain" },
    body,
  };
}

/** Text and single bytes, as one array. */
function bytes(...parts: (string | number)[]): Uint8Array {
  return new Uint8Array(
    parts.flatMap((part) =>
      typeof part === "number" ? [part] : [...part].map((c) => c.charCodeAt(0))
    ),
  );
}

async function failure(call: Promise<unknown>): Promise<Error> {
  const error = await call.then(() => null, (e) => e);
  assert.ok(error instanceof Error, `expected a failure, got ${error}`);
  return error;
}

Deno.test("ProviderClient - requests in sequence share one kept-alive connection", async () => {
  await using server = startScriptedServer((request) => ({
    answer: answer(200, `got ${request.body}`, ["X-Custom: Yes"]),
  }));
  using client = new ProviderClient(server.url);
  // Content-Length counts UTF-8 bytes: "é" is 2, "📱" 4, a lone surrogate 3 (as U+FFFD).
  for (const body of ["one", "thrée", "📱 \ud800"]) {
    const reply = await client.request(post(body), NEVER);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get("x-custom"), "Yes");
    assert.equal(reply.body, `got ${body.replace("\ud800", "\ufffd")}`);
  }
  assert.equal(server.accepted, 1);
  for (const request of server.received) {
    assert.deepEqual([request.connection, request.method, request.path], [
      1,
      "POST",
      "/send?via=test",
    ]);
  }
  assert.deepEqual(server.received.map((r) => r.body), ["one", "thrée", "📱 \ufffd"]);
  const head = server.received[2].headerLines.map((line) => line.toLowerCase());
  for (
    const line of [`host: 127.0.0.1:${server.port}`, "content-length: 8", "connection: keep-alive"]
  ) {
    assert.ok(head.includes(line), `${line} in ${head.join(" | ")}`);
  }
});

Deno.test("ProviderClient - concurrent requests get a connection and an answer each", async () => {
  let release = () => {};
  const allArrived = new Promise<void>((resolve) => release = resolve);
  await using server = startScriptedServer(async (request, index) => {
    if (index === 2) release();
    await allArrived;
    // The last to arrive answers first.
    await delay(Math.max(0, 2 - index) * 5);
    return { answer: answer(200, `re: ${request.body}`) };
  });
  using client = new ProviderClient(server.url, { maxIdle: 2 });
  const replies = await Promise.all(
    ["a", "b", "c"].map((body) => client.request(post(body), NEVER)),
  );
  assert.deepEqual(replies.map((reply) => reply.body), ["re: a", "re: b", "re: c"]);
  assert.equal(server.accepted, 3);
  // Two stay idle (maxIdle), the third is closed; the next request reuses one.
  await eventually(() => server.endedByClient === 1, "the connection over maxIdle is closed");
  assert.equal((await client.request(post("d"), NEVER)).body, "re: d");
  assert.equal(server.accepted, 3);
});

Deno.test("ProviderClient - an idle connection the server closed is not reused", async () => {
  await using server = startScriptedServer(() => ({
    answer: answer(200, "ok"),
    then: { closeAfterMs: 20 },
  }));
  using client = new ProviderClient(server.url);
  assert.equal((await client.request(post("first"), NEVER)).body, "ok");
  await delay(100);
  assert.equal((await client.request(post("second"), NEVER)).body, "ok");
  assert.deepEqual(server.received.map((r) => `${r.connection}: ${r.body}`), [
    "1: first",
    "2: second",
  ]);
});

Deno.test("ProviderClient - a request read then dropped fails and is never sent again", async () => {
  await using server = startScriptedServer((_, index) =>
    index === 0 ? { answer: answer(200, "ok") } : "drop"
  );
  using client = new ProviderClient(server.url);
  await client.request(post("first"), NEVER);
  // On the kept-alive connection: the case where fetch quietly sends it again.
  const error = await failure(client.request(post("second"), NEVER));
  assert.equal(notReached(error), false, error.message);
  await delay(100);
  assert.deepEqual(server.received.map((r) => `${r.connection}: ${r.body}`), [
    "1: first",
    "1: second",
  ]);
  assert.equal(server.accepted, 1);
});

Deno.test("webhook channel - a dropped message is 'may have sent' and reached the receiver once", async () => {
  const message = codeMessage("123456", 300);
  await using server = startScriptedServer((_, index) =>
    index === 0 ? { answer: answer(200, '{"accepted":true}') } : "drop"
  );
  const channel = httpProviderChannel("sms", { url: `${server.url}/hook`, timeoutMs: 1_000 });
  await channel.send("+14155550100", message);
  const error = await failure(channel.send("+14155550100", message));
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.message, "sms webhook connection failed");
  assert.equal(error.mayHaveSent, true);
  await delay(100);
  assert.equal(server.received.length, 2);
  assert.equal(server.accepted, 1);

  // The same through the fake receiver (Deno.serve behind a connection-breaking front).
  await using receiver = startWebhookReceiver();
  const hooked = httpProviderChannel("sms", { url: receiver.url, timeoutMs: 1_000 });
  await hooked.send("+14155550100", message);
  receiver.mode = { kind: "drop" };
  const dropped = await failure(hooked.send("+14155550100", message));
  assert.ok(dropped instanceof DeliveryError && dropped.mayHaveSent);
  await delay(100);
  assert.equal(receiver.messages.length, 2, "the dropped message was taken once, not twice");
});

const CHUNKED_HEAD = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
const CUT_IN_BODY = 'HTTP/1.1 201 Created\r\nContent-Length: 50\r\n\r\n{"sid"';

/**
 * Answers and what the client makes of them; `body: null` is an answer whose head arrived
 * and whose body was lost. `reused`: whether the next request goes on the same connection.
 */
const FRAMINGS: {
  name: string;
  reply: Reply;
  status: number;
  body: string | null;
  reused: boolean;
}[] = [
  {
    name: "chunked, with extensions, trailers and a character split across chunks",
    reply: {
      answer: [
        CHUNKED_HEAD,
        "5;name=value\r\nhel",
        "lo\r\n3\r\n, w\r\n",
        // "ö" is C3 B6: one byte per chunk.
        bytes("1\r\n", 0xc3, "\r\n1\r\n", 0xb6, "\r\n"),
        "3\r\nrld\r\n0\r\nX-Trailer: t\r\n\r\n",
      ],
    },
    status: 200,
    body: "hello, wörld",
    reused: true,
  },
  {
    name: "Connection: close",
    reply: { answer: answer(200, "bye", ["Connection: close"]) },
    status: 200,
    body: "bye",
    reused: false,
  },
  {
    name: "read to the end of the stream",
    reply: { answer: "HTTP/1.1 200 OK\r\n\r\nall of it", then: "close" },
    status: 200,
    body: "all of it",
    reused: false,
  },
  {
    name: "100 Continue and 103 Early Hints first",
    reply: {
      answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
        answer(201, "made"),
    },
    status: 201,
    body: "made",
    reused: true,
  },
  {
    name: "HTTP/1.0",
    reply: { answer: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok" },
    status: 200,
    body: "ok",
    reused: false,
  },
  {
    name: "HTTP/1.0 with keep-alive",
    reply: { answer: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok" },
    status: 200,
    body: "ok",
    reused: true,
  },
  {
    name: "204 without Content-Length",
    reply: { answer: "HTTP/1.1 204 No Content\r\n\r\n" },
    status: 204,
    body: "",
    reused: true,
  },
  {
    name: "a body declared over 1 MiB",
    reply: { answer: `HTTP/1.1 200 OK\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\naaaa` },
    status: 200,
    body: null,
    reused: false,
  },
  {
    name: "a body over 1 MiB to the end of the stream",
    reply: { answer: ["HTTP/1.1 200 OK\r\n\r\n", "a".repeat(600 * 1024), "a".repeat(600 * 1024)] },
    status: 200,
    body: null,
    reused: false,
  },
  {
    name: "chunks over 1 MiB",
    reply: { answer: `${CHUNKED_HEAD}200000\r\naaaa` },
    status: 200,
    body: null,
    reused: false,
  },
  {
    name: "a bad chunk size",
    reply: { answer: `${CHUNKED_HEAD}zz\r\naaaa\r\n` },
    status: 200,
    body: null,
    reused: false,
  },
  {
    name: "the connection closing in the body",
    reply: { answer: CUT_IN_BODY, then: "close" },
    status: 201,
    body: null,
    reused: false,
  },
];

for (const { name, reply, status, body, reused } of FRAMINGS) {
  Deno.test(`ProviderClient - answer framing: ${name}`, async () => {
    await using server = startScriptedServer((_, index) =>
      index === 0 ? reply : { answer: answer(200, "next") }
    );
    using client = new ProviderClient(server.url);
    const first = await client.request(post("first"), NEVER);
    assert.deepEqual({ status: first.status, body: first.body }, { status, body });
    if (!reused && (typeof reply !== "object" || reply.then !== "close")) {
      await eventually(() => server.endedByClient === 1, "the client closes the connection");
    }
    assert.equal((await client.request(post("second"), NEVER)).body, "next");
    assert.equal(server.accepted, reused ? 1 : 2);
  });
}

const MALFORMED: [string, string, RegExp][] = [
  ["a bad status line", "HTTX/1.1 200 secret-token\r\n\r\n", /malformed answer: bad status line/],
  ["a header line without a colon", "HTTP/1.1 200 OK\r\nsecret-token\r\n\r\n", /bad header line/],
  ["a bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1secret\r\n\r\n", /Content-Length/],
  ["a head over 64 KiB", `HTTP/1.1 200 OK\r\nX-Secret: ${"a".repeat(70 * 1024)}`, /over 64 KiB/],
];

for (const [name, reply, error] of MALFORMED) {
  Deno.test(`ProviderClient - ${name} fails, without quoting the answer`, async () => {
    await using server = startScriptedServer(() => ({ answer: reply }));
    using client = new ProviderClient(server.url);
    const failed = await failure(client.request(post("x"), NEVER));
    assert.match(failed.message, error);
    assert.doesNotMatch(failed.message, /secret|aaaa/i);
    await eventually(() => server.endedByClient === 1, "the client closes the connection");
  });
}

Deno.test("ProviderClient - the deadline closes a hanging connection", async () => {
  await using server = startScriptedServer((_, index) =>
    // The second sends its head in time and never all its body: the answer stands.
    index === 0 ? "hang" : { answer: CUT_IN_BODY }
  );
  using client = new ProviderClient(server.url);
  const hung = await failure(
    callProvider("test", 50, (signal) => client.request(post("x"), signal)),
  );
  assert.ok(hung instanceof DeliveryError);
  assert.equal(hung.message, "test timed out");
  assert.equal(hung.mayHaveSent, true);
  await eventually(() => server.endedByClient === 1, "the server sees the connection close");
  const late = await callProvider("test", 50, (signal) => client.request(post("y"), signal));
  assert.deepEqual({ status: late.status, body: late.body }, { status: 201, body: null });
  await eventually(() => server.endedByClient === 2, "the server sees the connection close");
});

Deno.test("ProviderClient - a refused connection is 'not reached'", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  using client = new ProviderClient(`http://127.0.0.1:${port}`);
  const refused = await failure(client.request(post("x"), NEVER));
  assert.equal(refused.message, "connect error: Connection refused (os error 111)");
  assert.equal(notReached(refused), true);
  const reported = await failure(
    callProvider("test", 1_000, (signal) => client.request(post("x"), signal)),
  );
  assert.ok(reported instanceof DeliveryError);
  assert.equal(reported.message, "test could not be reached");
  assert.equal(reported.mayHaveSent, false);
});

Deno.test("ProviderClient - https: two requests share one TLS connection", async () => {
  const cert = await Deno.readTextFile(new URL("../fixtures/tls/cert.pem", import.meta.url));
  const key = await Deno.readTextFile(new URL("../fixtures/tls/key.pem", import.meta.url));
  await using server = startScriptedServer(() => ({ answer: answer(200, "secure") }), {
    listener: Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key }),
    scheme: "https",
  });
  using client = new ProviderClient(server.url, { caCerts: [cert] });
  for (const body of ["one", "two"]) {
    assert.equal((await client.request(post(body), NEVER)).body, "secure");
  }
  assert.equal(server.accepted, 1);
  // A certificate the client does not trust: nothing was sent.
  using untrusting = new ProviderClient(server.url);
  const refused = await failure(untrusting.request(post("x"), NEVER));
  assert.match(refused.message, /^connect error: invalid peer certificate/);
  assert.equal(notReached(refused), true);
  assert.equal(server.received.length, 2);
});

Deno.test("ProviderClient - a connection idle longer than idleMs is closed, not reused", async () => {
  await using server = startScriptedServer(() => ({ answer: answer(200, "ok") }));
  using client = new ProviderClient(server.url, { idleMs: 50 });
  await client.request(post("first"), NEVER);
  await delay(100);
  await client.request(post("second"), NEVER);
  assert.equal(server.accepted, 2);
  await eventually(() => server.endedByClient === 1, "the expired connection is closed");
});

Deno.test("providerSender - a proxy of the environment that covers the URL means fetch through it", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const url = new URL("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json");
  const cases: [Record<string, string>, boolean][] = [
    [{}, false],
    [{ HTTPS_PROXY: "http://proxy:3128" }, true],
    [{ https_proxy: "http://proxy:3128" }, true],
    [{ HTTP_PROXY: "http://proxy:3128" }, false], // only http: URLs
    [{ ALL_PROXY: "http://proxy:3128" }, true],
    [{ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "twilio.com" }, false],
    [{ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "localhost, .twilio.com" }, false],
    [{ HTTPS_PROXY: "http://proxy:3128", no_proxy: "*" }, false],
    [{ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "api.twilio.com:443" }, false],
    [{ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "example.com,wilio.com" }, true],
  ];
  for (const [vars, expected] of cases) {
    assert.equal(proxied(url, env(vars)), expected, JSON.stringify(vars));
  }
  assert.ok(providerSender(url, env({})) instanceof ProviderClient);
  assert.ok(
    !(providerSender(url, env({ HTTPS_PROXY: "http://proxy:3128" })) instanceof ProviderClient),
  );
});

Deno.test("webhook channel - behind HTTP_PROXY, a message goes through the proxy once", async () => {
  // A plain-HTTP forward proxy: the request line carries the whole URL of a host only it knows.
  const seen: string[] = [];
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen.push(`${req.method} ${req.url} ${await req.text()}`);
    return new Response("ok");
  });
  try {
    const script = `
      import { httpProviderChannel } from "./core/delivery/http_provider.ts";
      const sms = httpProviderChannel("sms", { url: "http://sms-gateway.doorman.test/send" });
      await sms.send("+14155550100", { text: "hello", emailText: "", subject: "", html: "", telegramHtml: "" });
    `;
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      cwd: new URL("../..", import.meta.url),
      env: { HTTP_PROXY: `http://127.0.0.1:${proxy.addr.port}`, NO_PROXY: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
    assert.deepEqual(seen, [
      'POST http://sms-gateway.doorman.test/send {"to":"+14155550100","text":"hello"}',
    ]);
  } finally {
    await proxy.shutdown();
  }
});
