/**
 * Property-based fuzzing of the presence WebSocket (`/api/v1/presence/ws`, README "The WebSocket
 * protocol") over a real loopback socket: generated frames, text and binary, valid and not, on
 * sockets opened with a ticket (the old first-message `auth` is just another unknown message now),
 * and generated handshakes, with and without a ticket. A small model of the protocol predicts what
 * the server says to the frames whose meaning the contract fixes; for the rest only the general
 * rules are checked: every server message is JSON of one of the protocol's shapes, closes use only
 * the documented codes, no socket opens without a good ticket, the server keeps serving (health, a
 * fresh socket opens), and memory stays bounded.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Harness,
  serveHarness,
  setUserStatus,
  type SignInBody,
  startHarness,
  ticketUrl,
  waitFor,
} from "../helpers.ts";
import {
  claimsOf,
  ERROR_TABLE,
  errorLines,
  forgedToken,
  fuzzParams,
  longString,
  nastyString,
  rawJson,
  withTimeout,
} from "./arbitraries.ts";

const ADMIN_PHONE = "+14155550000";
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_BYTES = 4_096;
const MAX_MESSAGES = 60;
/** Close codes the server may use (README, "The WebSocket protocol"). */
const SERVER_CLOSE_CODES = new Set([4001, 4003, 4009, 1008, 1009]);
/** Close codes seen when the client closed first (or the connection just ended). */
const CLIENT_CLOSE_CODES = new Set([1000, 1001, 1005, 1006]);

// ---------------------------------------------------------------------------------------------
// Frames

/**
 * One generated frame. `auth` frames are the old first message, with the live token of an
 * account (`who`): no longer accepted, so answered as an unknown message. The kinds the
 * contract fixes are modelled; `loose` ones (extra fields, duplicate ids, binary, …) only get
 * the general checks.
 */
type Frame =
  | { kind: "auth"; who: "user" | "other" | "disabled" }
  | { kind: "ping" }
  | { kind: "subscribe" | "unsubscribe"; ids: string[] }
  | { kind: "invalid"; text: string }
  | { kind: "oversized"; text: string }
  | { kind: "loose"; data: string | Uint8Array };

/** Valid ids: the harness's users, unknown well-formed ids, the longest allowed. */
function idArb(known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...known),
    fc.stringMatching(/^usr_[0-9A-Z]{26}$/),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    fc.constant("x".repeat(64)),
  );
}

/** Text whose UTF-8 size is `bytes`: JSON of an unknown type padded with `unit`. */
function paddedUnknown(bytes: number, unit: string): string {
  const head = '{"type":"padding","pad":"';
  const tail = '"}';
  const unitBytes = new TextEncoder().encode(unit).length;
  const room = bytes - head.length - tail.length;
  const units = Math.floor(room / unitBytes);
  return head + unit.repeat(units) + "x".repeat(room - units * unitBytes) + tail;
}

function frameArb(known: string[]): fc.Arbitrary<Frame> {
  const id = idArb(known);
  const distinctIds = fc.uniqueArray(id, { minLength: 1, maxLength: 100 });
  const badIds = fc.oneof(
    fc.constant([]),
    fc.array(id, { minLength: 101, maxLength: 130 }),
    fc.tuple(
      fc.array(id, { maxLength: 3 }),
      fc.oneof(
        nastyString.filter((s) => !ID.test(s)),
        fc.constantFrom("x".repeat(65), "a b", "ä", ""),
      ),
    ).map(([ids, bad]) => [...ids, bad]),
    fc.jsonValue({ maxDepth: 2 }).filter((v) => !Array.isArray(v)),
    fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.constant({})), {
      minLength: 1,
      maxLength: 3,
    }),
  );
  const invalidText = fc.oneof(
    // Not JSON, or JSON that is not an object.
    fc.string({ maxLength: 60 }).filter((s) => !isJson(s)),
    fc.constantFrom("", " ", "{", "nul", "{'type':'ping'}", '{"type":"ping",}', "\u0000"),
    fc.oneof(fc.jsonValue({ maxDepth: 2 }), rawJson.map((t) => safeParse(t)))
      .filter((v) => typeof v !== "object" || v === null || Array.isArray(v))
      .map((v) => JSON.stringify(v) ?? "null"),
    // Objects of no known type.
    fc.oneof(
      nastyString.filter((t) => !["auth", "ping", "subscribe", "unsubscribe"].includes(t)),
      fc.constantFrom("PING", "Auth", "pong", "ready", "presence", "error"),
      fc.jsonValue({ maxDepth: 1 }).filter((t) => typeof t !== "string"),
    ).map((type) => JSON.stringify({ type })),
    fc.constant("{}"),
    // Known types with the wrong payload.
    badIds.map((ids) => JSON.stringify({ type: "subscribe", user_ids: ids })),
    badIds.map((ids) => JSON.stringify({ type: "unsubscribe", user_ids: ids })),
    fc.oneof(fc.integer(), fc.constant(null), fc.constant([]), fc.constant({}), fc.boolean())
      .map((token) => JSON.stringify({ type: "auth", token })),
    fc.constant('{"type":"auth"}'),
    // Exactly at the size limit: accepted (and answered as an unknown type).
    fc.constantFrom("x", "é", "😀").map((unit) => paddedUnknown(MAX_BYTES, unit)),
  );
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("auth" as const),
        who: fc.constantFrom("user" as const, "other" as const, "disabled" as const),
      }),
    },
    { weight: 4, arbitrary: fc.constant({ kind: "ping" as const }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constantFrom("subscribe" as const, "unsubscribe" as const),
        ids: distinctIds,
      }),
    },
    { weight: 4, arbitrary: invalidText.map((text) => ({ kind: "invalid" as const, text })) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom("x", "é", "😀").map((unit) => paddedUnknown(MAX_BYTES + 1, unit)),
        longString.filter((s) => new TextEncoder().encode(s).length > MAX_BYTES),
        fc.integer({ min: 5_000, max: 300_000 }).map((n) =>
          JSON.stringify({ type: "ping", pad: "p".repeat(n) })
        ),
      ).map((text) => ({ kind: "oversized" as const, text })),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(
        // Binary frames, small and large.
        fc.uint8Array({ maxLength: 64 }),
        fc.constant(new TextEncoder().encode('{"type":"ping"}')),
        fc.integer({ min: 4_000, max: 70_000 }).map((n) => new Uint8Array(n)),
        // Known types with extra fields, duplicate ids, extra-long tokens: the contract is silent.
        fc.record({
          type: fc.constantFrom("ping", "subscribe", "unsubscribe", "auth"),
          extra: fc.jsonValue({ maxDepth: 1 }),
        }).map((o) => JSON.stringify(o)),
        fc.array(id, { minLength: 2, maxLength: 4 }).map((ids) =>
          JSON.stringify({ type: "subscribe", user_ids: [...ids, ids[0]] })
        ),
        fc.string({ minLength: 1, maxLength: 3_000 }).map((token) =>
          JSON.stringify({ type: "auth", token })
        ),
      ).map((data) => ({ kind: "loose" as const, data })),
    },
  );
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** What goes on the wire for a frame. */
function wire(frame: Frame, tokens: Record<string, string>): string | Uint8Array {
  switch (frame.kind) {
    case "auth":
      return JSON.stringify({ type: "auth", token: tokens[frame.who] });
    case "ping":
      return '{"type":"ping"}';
    case "subscribe":
    case "unsubscribe":
      return JSON.stringify({ type: frame.kind, user_ids: frame.ids });
    case "invalid":
    case "oversized":
      return frame.text;
    case "loose":
      return frame.data;
  }
}

// ---------------------------------------------------------------------------------------------
// The model

/** What the server should say to a run of frames, as far as the contract fixes it. */
interface Prediction {
  /** `ready`, `pong` and `error` messages, in order. */
  replies: ("ready" | "pong" | "error")[];
  /** Presence snapshots owed (one per id of each valid subscribe). */
  snapshots: number;
  /** The close code the server must use, or null when it must stay open. */
  close: number | null;
  /** Index of the frame that makes the server close. */
  at: number | null;
  /** The user the socket authenticated as. */
  who: string | null;
  /** False once a frame the contract is silent about was sent: then only the general rules. */
  exact: boolean;
}

function predict(
  frames: Frame[],
  options: { who: Opener; tokens: Record<string, string> },
): Prediction {
  const { who, tokens } = options;
  const p: Prediction = {
    replies: ["ready"],
    snapshots: 0,
    close: null,
    at: null,
    who,
    exact: true,
  };
  let count = 0;
  const subscribed = new Set<string>();
  for (const [i, frame] of frames.entries()) {
    p.at = i;
    if (frame.kind === "loose") {
      p.exact = false;
      return p;
    }
    const data = wire(frame, tokens);
    if (typeof data === "string" && new TextEncoder().encode(data).length > MAX_BYTES) {
      p.close = 1009;
      return p;
    }
    if (++count > MAX_MESSAGES) {
      p.close = 1008;
      return p;
    }
    if (frame.kind === "ping") p.replies.push("pong");
    else if (frame.kind === "subscribe") {
      for (const id of frame.ids) subscribed.add(id);
      // A cap on subscriptions per socket is the server's choice: past 1,000, stop predicting.
      if (subscribed.size > 1_000) {
        p.exact = false;
        return p;
      }
      p.snapshots += frame.ids.length;
    } else if (frame.kind === "unsubscribe") {
      for (const id of frame.ids) subscribed.delete(id);
    } else p.replies.push("error");
  }
  p.at = null;
  return p;
}

// ---------------------------------------------------------------------------------------------
// The client

/** What a socket saw. */
interface Transcript {
  messages: (string | ArrayBuffer)[];
  close: { code: number; reason: string; byServer: boolean } | null;
}

/** Whose ticket opens a run's socket. */
type Opener = "user" | "other";

/** A socket opened with a fresh ticket of `token`'s sign-in, that records everything. */
async function connect(f: WsFuzzing, token: string): Promise<{
  socket: WebSocket;
  transcript: Transcript;
  closed: Promise<void>;
  /** Resolves once `check` holds for the transcript (or the socket closed). */
  until(check: (t: Transcript) => boolean, ms: number, what: string): Promise<void>;
}> {
  const socket = new WebSocket(await ticketUrl(f.h, f.wsUrl, token));
  socket.binaryType = "arraybuffer";
  const transcript: Transcript = { messages: [], close: null };
  let clientClosing = false;
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const watcher of [...watchers]) watcher();
  };
  socket.onmessage = (event) => {
    transcript.messages.push(event.data);
    notify();
  };
  const closed = new Promise<void>((resolve) => {
    socket.onclose = (event) => {
      transcript.close = { code: event.code, reason: event.reason, byServer: !clientClosing };
      resolve();
      notify();
    };
  });
  const origClose = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string) => {
    clientClosing = true;
    origClose(code, reason);
  };
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error("the socket did not open"));
    }),
    5_000,
    "opening the socket",
  );
  socket.onerror = () => {};
  return {
    socket,
    transcript,
    closed,
    until(check, ms, what) {
      if (check(transcript) || transcript.close) return Promise.resolve();
      return withTimeout(
        new Promise<void>((resolve) => {
          const watcher = () => {
            if (check(transcript) || transcript.close) {
              watchers.delete(watcher);
              resolve();
            }
          };
          watchers.add(watcher);
        }),
        ms,
        what,
      );
    },
  };
}

/** Why a server message is not one of the protocol's, or null. */
function shapeProblem(
  raw: string | ArrayBuffer,
  who: string | null,
  ids: Record<string, string>,
): string | null {
  if (typeof raw !== "string") return "a binary message";
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(raw);
  } catch {
    return "a message that is not JSON";
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) {
    return "a message that is not an object";
  }
  const keys = Object.keys(m).sort().join(",");
  switch (m.type) {
    case "ready":
      if (keys !== "type,user_id" || typeof m.user_id !== "string") return "a malformed ready";
      if (who !== null && m.user_id !== ids[who]) return `ready for ${m.user_id}, not ${ids[who]}`;
      return null;
    case "pong":
      return keys === "type" ? null : "a malformed pong";
    case "presence":
      if (
        keys !== "last_seen,status,type,user_id" || typeof m.user_id !== "string" ||
        (m.status !== "online" && m.status !== "offline") ||
        !(m.last_seen === null ||
          (typeof m.last_seen === "string" && !Number.isNaN(Date.parse(m.last_seen))))
      ) return "a malformed presence";
      return null;
    case "error":
      if (
        keys !== "code,message,type" || typeof m.code !== "string" || !(m.code in ERROR_TABLE) ||
        typeof m.message !== "string"
      ) return "a malformed error";
      return null;
    default:
      return `an unknown message type ${JSON.stringify(m.type)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The harness

interface WsFuzzing extends AsyncDisposable {
  h: Harness;
  url: string;
  wsUrl: string;
  tokens: Record<string, string>;
  ids: Record<string, string>;
  sessions: Record<string, SignInBody>;
}

async function startWsFuzzing(): Promise<WsFuzzing> {
  const h = await startHarness({
    env: {
      ADMIN_PHONES: ADMIN_PHONE,
      OTP_IP_RATE_LIMIT_PER_HOUR: "1000000",
      SMS_PREFIX_AUTOBLOCK: "false",
    },
  });
  const server = serveHarness(h);
  const sessions: Record<string, SignInBody> = {
    admin: await h.signIn(ADMIN_PHONE),
    user: await h.signIn("+14155550101"),
    other: await h.signIn("+14155550102"),
    disabled: await h.signIn("+14155550103"),
  };
  await setUserStatus(h, sessions.admin.access_token, sessions.disabled.user.id, "suspended");
  return {
    h,
    url: server.url,
    wsUrl: server.wsUrl,
    sessions,
    tokens: Object.fromEntries(Object.entries(sessions).map(([k, s]) => [k, s.access_token])),
    ids: Object.fromEntries(Object.entries(sessions).map(([k, s]) => [k, s.user.id])),
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await h[Symbol.asyncDispose]();
    },
  };
}

/** The server still serves: `/health` answers, a fresh socket opens, none is left open. */
async function stillServing(f: WsFuzzing): Promise<void> {
  const health = await withTimeout(fetch(`${f.url}/health`), 5_000, "GET /health");
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });
  const c = await connect(f, f.tokens.user);
  await c.until((t) => t.messages.length > 0, 5_000, "ready on a fresh socket");
  assert.deepEqual(JSON.parse(c.transcript.messages[0] as string), {
    type: "ready",
    user_id: f.ids.user,
  });
  c.socket.close();
  await c.closed;
  await waitFor(() => f.h.ctx.presence.hub.size === 0, 5_000);
}

/** Sends `frames` on a fresh socket, ends the run with a sentinel, and checks what came back. */
async function runFrames(
  f: WsFuzzing,
  opened: { who: Opener; frames: Frame[] },
  run: number,
): Promise<void> {
  const { who, frames } = opened;
  const before = f.h.log.lines.length;
  const expected = predict(frames, { who, tokens: f.tokens });
  // Frames go out as soon as the socket opens, without waiting for `ready`: it comes first.
  const c = await connect(f, f.tokens[who]);
  const sent: string[] = [];
  const subscribed = new Set<string>();
  let closing = false;
  for (const [i, frame] of frames.entries()) {
    if (c.transcript.close) break;
    // Past a frame the server must close on, a client would wait and see: what the server
    // says to frames sent right behind it is the pipelining property's (below). So the first
    // frame's answer is awaited, and nothing follows an oversized frame or the 61st.
    if (expected.close !== null && i > expected.at!) break;
    const data = wire(frame, f.tokens);
    sent.push(typeof data === "string" ? clip(data) : `binary[${data.length}]`);
    if (frame.kind === "subscribe") { for (const id of frame.ids) subscribed.add(id); }
    if (frame.kind === "loose" && typeof data === "string") {
      const ids = (safeParse(data) as { user_ids?: unknown } | null)?.user_ids;
      if (Array.isArray(ids)) {
        for (const id of ids) if (typeof id === "string") subscribed.add(id);
      }
    }
    try {
      c.socket.send(data);
    } catch {
      break; // Closed under us: what the server said is checked below.
    }
    if (typeof data === "string" && new TextEncoder().encode(data).length > MAX_BYTES) {
      closing = true;
      break;
    }
    // The 61st message closes the socket (1008): nothing is sent behind it.
    if (i + 1 > MAX_MESSAGES) {
      closing = true;
      break;
    }
    if (typeof data !== "string") {
      // The contract is silent on binary frames: give the server a moment to close.
      await c.until((t) => t.close !== null, 300, "a close after a binary frame").catch(() => {});
    }
  }
  // The sentinel: a subscription to an id nobody has; its snapshot comes after every answer
  // to the frames before it (the server handles a socket's messages in order).
  const sentinel = `sentinel_${run}`;
  if (!c.transcript.close && !closing && (expected.close === null || !expected.exact)) {
    try {
      c.socket.send(JSON.stringify({ type: "subscribe", user_ids: [sentinel] }));
    } catch {
      // Closed under us.
    }
  }
  const sentinelSeen = (t: Transcript) =>
    t.messages.some((m) => typeof m === "string" && m.includes(`"${sentinel}"`));
  const problem = (what: string) =>
    new Error(
      [
        `websocket contract broken: ${what}`,
        `  frames: ${JSON.stringify(sent)}`,
        `  server said: ${
          JSON.stringify(
            c.transcript.messages.map((m) => typeof m === "string" ? clip(m) : "binary"),
          )
        }`,
        `  close: ${JSON.stringify(c.transcript.close)}`,
        `  predicted: ${JSON.stringify(expected)}`,
        ...errorLines(f.h, before).map((l) => `  server log: ${l}`),
      ].join("\n"),
    );
  try {
    await c.until(sentinelSeen, 5_000, "the sentinel's snapshot or a close");
  } catch {
    throw problem("no answer to the sentinel and no close within 5 s (a hang)");
  }
  if (!c.transcript.close) c.socket.close(1000);
  await withTimeout(c.closed, 5_000, "the close handshake");
  const { messages, close } = c.transcript;
  wsTally(
    `${expected.exact ? "exact" : "loose"} close=${close!.byServer ? close!.code : "client"}`,
  );

  // General rules.
  for (const m of messages) {
    const shape = shapeProblem(m, expected.exact ? expected.who : null, f.ids);
    if (shape) throw problem(shape);
  }
  if (close!.byServer && !SERVER_CLOSE_CODES.has(close!.code)) {
    throw problem(`the server closed with ${close!.code}, not a documented code`);
  }
  if (!close!.byServer && !CLIENT_CLOSE_CODES.has(close!.code)) {
    throw problem(`closed with ${close!.code} after the client's close`);
  }
  for (const m of messages) {
    const parsed = JSON.parse(m as string);
    if (
      parsed.type === "presence" && parsed.user_id !== sentinel && !subscribed.has(parsed.user_id)
    ) {
      throw problem(`presence of ${parsed.user_id}, which this socket never subscribed to`);
    }
  }
  if (errorLines(f.h, before).some((l) => /socket message failed|socket close failed/.test(l))) {
    throw problem("the server logged a failure handling the socket");
  }
  if (!expected.exact) return;

  // What the contract fixes.
  const parsed = messages.map((m) => JSON.parse(m as string) as { type: string; user_id?: string });
  const replies = parsed.filter((m) => m.type !== "presence").map((m) => m.type);
  const snapshots = parsed.filter((m) => m.type === "presence" && m.user_id !== sentinel).length;
  const sentinelCame = parsed.some((m) => m.type === "presence" && m.user_id === sentinel);
  // The sentinel is one message more: past the rate limit it closes the socket instead.
  const total = frames.length + 1;
  const expectedClose = expected.close ?? (total > MAX_MESSAGES ? 1008 : null);
  // An oversized frame is refused as it arrives, before the frames queued ahead of it are
  // answered (hub.ts): the replies may then stop short. Anything else is answered in order.
  const owed = expected.close === 1009
    ? expected.replies.slice(0, replies.length)
    : expected.replies;
  if (JSON.stringify(replies) !== JSON.stringify(owed)) {
    throw problem(
      `replies ${JSON.stringify(replies)}, expected ${JSON.stringify(expected.replies)}`,
    );
  }
  if (snapshots < expected.snapshots && expected.close !== 1009) {
    throw problem(`${snapshots} presence snapshots, expected at least ${expected.snapshots}`);
  }
  if (expectedClose === null) {
    if (close!.byServer) throw problem(`closed by the server (${close!.code}) for no reason`);
    if (!sentinelCame) throw problem("no snapshot for the sentinel");
  } else if (!close!.byServer || close!.code !== expectedClose) {
    throw problem(`expected the server to close with ${expectedClose}`);
  }
}

/** Outcomes per kind of run; printed with `FUZZ_STATS=1`. */
const outcomes = new Map<string, number>();
function wsTally(key: string): void {
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}
function printOutcomes(): void {
  if (Deno.env.get("FUZZ_STATS")) {
    console.log([...outcomes].map(([k, n]) => `  ${n}\t${k}`).join("\n"));
  }
  outcomes.clear();
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}… (${s.length} chars)` : s;
}

// ---------------------------------------------------------------------------------------------
// Properties

Deno.test("fuzz ws - any frames on a socket opened with a ticket get protocol answers", async () => {
  await using f = await startWsFuzzing();
  const known = [...Object.values(f.ids), "usr_unknown"];
  const opener = fc.constantFrom("user" as const, "other" as const);
  const runs: fc.Arbitrary<{ who: Opener; frames: Frame[] }> = fc.oneof(
    {
      weight: 11,
      arbitrary: fc.record({ who: opener, frames: fc.array(frameArb(known), { maxLength: 15 }) }),
    },
    // Floods: past 60 messages in 10 s.
    {
      weight: 1,
      arbitrary: fc.tuple(
        opener,
        fc.integer({ min: 55, max: 70 }),
        fc.array(frameArb(known), { maxLength: 3 }),
      ).map(([who, n, tail]) => ({
        who,
        frames: [...Array.from({ length: n }, (): Frame => ({ kind: "ping" })), ...tail],
      })),
    },
  );
  const rssBefore = Deno.memoryUsage().rss;
  let run = 0;
  await fc.assert(
    fc.asyncProperty(runs, async (opened) => {
      await runFrames(f, opened, run++);
    }),
    fuzzParams<{ who: Opener; frames: Frame[] }>(300, [
      [{ who: "user", frames: [{ kind: "invalid", text: paddedUnknown(MAX_BYTES, "é") }] }],
      [{
        who: "user",
        frames: [{ kind: "oversized", text: paddedUnknown(MAX_BYTES + 1, "😀") }],
      }],
      // The old first-message auth, of the same user, another, or a disabled one: refused.
      [{ who: "user", frames: [{ kind: "auth", who: "user" }, { kind: "ping" }] }],
      [{ who: "other", frames: [{ kind: "auth", who: "disabled" }] }],
      [{ who: "user", frames: [] }],
    ]),
  );
  printOutcomes();
  await stillServing(f);
  const grown = Deno.memoryUsage().rss - rssBefore;
  if (Deno.env.get("FUZZ_STATS")) console.log(`  RSS grew by ${(grown / 1048576).toFixed(1)} MB`);
  assert.ok(grown < 200 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1048576)} MB`);
});

Deno.test("fuzz ws - tickets asked with tokens signed with the real key but claims of any shape", async () => {
  // A token the server signed could only carry odd claims if its key leaked or a version
  // changed them; still, the ticket's answer is 200 or a table error (never a 5xx), and a
  // ticket it gives opens a socket that says `ready`.
  await using f = await startWsFuzzing();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(forgedToken(f.tokens.user), forgedToken(f.tokens.admin)),
      async (token) => {
        const before = f.h.log.lines.length;
        const res = await f.h.post("/api/v1/presence/ws-ticket", {}, { token });
        const body = await res.json();
        const fail = (what: string) =>
          new Error(
            [
              `a ticket asked with a re-signed token: ${what}`,
              `  answer: ${res.status} ${JSON.stringify(body)}`,
              `  token: ${claimsOf(token)}`,
              ...errorLines(f.h, before).map((l) => `  server log: ${l}`),
            ].join("\n"),
          );
        if (res.status !== 200) {
          if (ERROR_TABLE[body?.error?.code] !== res.status) throw fail("not a table error");
          return;
        }
        const socket = new WebSocket(`${f.wsUrl}?ticket=${body.ticket}`);
        const first = await withTimeout(
          new Promise<string>((resolve) => {
            socket.onmessage = (event) => resolve(String(event.data));
            socket.onclose = (event) => resolve(`closed ${event.code}`);
          }),
          5_000,
          "ready or a close",
        );
        const closed = new Promise((resolve) => socket.onclose = resolve);
        socket.close();
        await closed;
        if (shapeProblem(first, null, f.ids) || JSON.parse(first).type !== "ready") {
          throw fail(`the socket said ${first}`);
        }
      },
    ),
    fuzzParams(200),
  );
  await stillServing(f);
});

/** One case of the pipelining property: what makes the server close, and what follows it. */
interface Pipelined {
  trigger: "oversized text" | "oversized binary" | "flood";
  size: number;
  after: string[];
}

Deno.test("fuzz ws - a client that keeps sending still learns why it was closed", async () => {
  // Clients pipeline (subscribes at once, pings on a timer): frames sent right behind the one
  // the server refuses must not cost the client the close code. (A close for a sign-in that
  // ended comes at a moment of the server's choosing: a client sending at that very moment
  // may see the connection reset instead, about 1 in 200 with Deno's own client and server
  // alone, so it is tested in tests/presence/ws_sign_in_test.ts with a quiet client.)
  await using f = await startWsFuzzing();
  const cases: fc.Arbitrary<Pipelined> = fc.record({
    trigger: fc.constantFrom("oversized text", "oversized binary", "flood"),
    size: fc.integer({ min: MAX_BYTES + 1, max: 100_000 }),
    after: fc.array(
      fc.constantFrom('{"type":"ping"}', "x", '{"type":"subscribe","user_ids":["usr_a"]}'),
      { minLength: 1, maxLength: 5 },
    ),
  });
  const expectedCode = {
    "oversized text": 1009,
    "oversized binary": 1009,
    "flood": 1008,
  };
  await fc.assert(
    fc.asyncProperty(cases, async (p) => {
      const c = await connect(f, f.tokens.user);
      await c.until((t) => t.messages.length >= 1, 5_000, "ready");
      const trigger: (string | Uint8Array)[] = p.trigger === "oversized text"
        ? ["x".repeat(p.size)]
        : p.trigger === "oversized binary"
        ? [new Uint8Array(p.size)]
        : Array.from({ length: MAX_MESSAGES + 1 }, () => '{"type":"ping"}');
      for (const frame of [...trigger, ...p.after]) {
        try {
          c.socket.send(frame);
        } catch {
          break;
        }
      }
      await withTimeout(c.closed, 5_000, "the server's close");
      const close = c.transcript.close!;
      assert.ok(
        close.byServer && close.code === expectedCode[p.trigger],
        `after ${p.trigger} (${p.size} bytes) and ${JSON.stringify(p.after)}: closed with ${
          JSON.stringify(close)
        }, expected ${expectedCode[p.trigger]}`,
      );
    }),
    fuzzParams<Pipelined>(100, [[{
      trigger: "oversized text",
      size: 5_000,
      after: ['{"type":"ping"}'],
    }]]),
  );
  await stillServing(f);
});

/** One raw HTTP request to the socket's URL: its ticket none, not one, or a good one. */
interface Handshake {
  method: string;
  ticket: "none" | "bad" | "good";
  headers: [string, string][];
}

/** Sends a raw HTTP/1.1 request and reads the status line and body (the socket is then dropped). */
async function rawRequest(
  url: string,
  req: Handshake & { query: string },
): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const lines = [
      `${req.method} /api/v1/presence/ws${req.query} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      ...req.headers.map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    const read = async () => {
      let text = "";
      const buf = new Uint8Array(16_384);
      while (true) {
        const at = text.indexOf("\r\n\r\n");
        if (at >= 0) {
          const head = text.slice(0, at);
          const status = Number(head.split(" ")[1]);
          if (status === 101) return { status, head, body: "" };
          const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
          if (text.length - at - 4 >= length) {
            return { status, head, body: text.slice(at + 4, at + 4 + length) };
          }
        }
        const n = await conn.read(buf);
        if (n === null) {
          const head = text.split("\r\n\r\n")[0];
          return {
            status: Number(head.split(" ")[1]) || 0,
            head,
            body: text.split("\r\n\r\n")[1] ?? "",
          };
        }
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    };
    return await withTimeout(
      read(),
      5_000,
      `${req.method} /api/v1/presence/ws ${JSON.stringify(req.headers)}`,
    );
  } finally {
    conn.close();
  }
}

Deno.test("fuzz ws - handshakes with any upgrade headers never give a 5xx, nor a socket without a good ticket", async () => {
  await using f = await startWsFuzzing();
  const header = (name: string, values: fc.Arbitrary<string>) =>
    fc.option(values.map((v): [string, string] => [name, v]), { nil: undefined, freq: 4 });
  const printable = fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 30,
  });
  const cases: fc.Arbitrary<Handshake> = fc.record({
    method: fc.constantFrom("GET", "GET", "GET", "POST", "HEAD", "PUT"),
    ticket: fc.constantFrom("none" as const, "bad" as const, "good" as const, "good" as const),
    headers: fc.tuple(
      header(
        "Upgrade",
        fc.oneof(fc.constantFrom("websocket", "WebSocket", "h2c", "websocket, h2c", ""), printable),
      ),
      header(
        "Connection",
        fc.oneof(
          fc.constantFrom("Upgrade", "upgrade", "keep-alive, Upgrade", "close", "keep-alive"),
          printable,
        ),
      ),
      header(
        "Sec-WebSocket-Key",
        fc.oneof(
          fc.constantFrom("dGhlIHNhbXBsZSBub25jZQ==", "x", ""),
          fc.base64String({ maxLength: 40 }),
          printable,
        ),
      ),
      header(
        "Sec-WebSocket-Version",
        fc.oneof(fc.constantFrom("13", "8", "99", "", "13, 8"), printable),
      ),
      header("Sec-WebSocket-Protocol", fc.oneof(fc.constantFrom("chat", "", ","), printable)),
      header("Origin", fc.constantFrom("http://localhost", "null", "https://evil.example")),
    ).map((hs) => hs.filter((h): h is [string, string] => h !== undefined)),
  });
  await fc.assert(
    fc.asyncProperty(cases, async (req) => {
      const query = req.ticket === "none"
        ? ""
        : req.ticket === "bad"
        ? `?ticket=${"A".repeat(43)}`
        : new URL(await ticketUrl(f.h, f.wsUrl, f.tokens.user)).search;
      const answer = await rawRequest(f.url, { ...req, query });
      const describe = `${req.method} ticket ${req.ticket} ${
        JSON.stringify(req.headers)
      } → ${answer.status} ${answer.body.slice(0, 300)}`;
      if (req.ticket !== "good") assert.notEqual(answer.status, 101, describe);
      assert.ok(answer.status > 0, `no HTTP answer: ${describe}`);
      assert.ok(answer.status < 500, `${describe}\n${errorLines(f.h, 0).slice(-1).join("\n")}`);
      if (answer.status >= 400 && req.method !== "HEAD") {
        const code = (safeParse(answer.body) as { error?: { code?: string } } | null)?.error?.code;
        assert.ok(
          code !== undefined && ERROR_TABLE[code] === answer.status,
          `not a table error: ${describe}`,
        );
      }
    }),
    fuzzParams<Handshake>(300, [
      [{ method: "GET", ticket: "good", headers: [["Upgrade", "websocket"]] }],
      [{
        method: "GET",
        ticket: "good",
        headers: [["Upgrade", "websocket"], ["Connection", "Upgrade"]],
      }],
      [{
        method: "GET",
        ticket: "none",
        headers: [
          ["Upgrade", "websocket"],
          ["Connection", "Upgrade"],
          ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
          ["Sec-WebSocket-Version", "13"],
        ],
      }],
    ]),
  );
  // The upgraded sockets were dropped without a word: the hub lets them all go.
  await waitFor(() => f.h.ctx.presence.hub.size === 0, 5_000);
  await stillServing(f);
});

Deno.test("fuzz ws - ids subscribed once are not kept after their sockets close", async () => {
  // Any signed-in client can subscribe to ids of its choosing, 100 a message: what the server
  // keeps per id must go when no socket watches it any more, or memory grows without bound.
  // Measured in a process of its own, where a full GC can be forced (socket_churn.ts).
  const root = new URL("../../", import.meta.url).pathname;
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      "--config",
      `${root}deno.json`,
      `${root}tests/fuzz/socket_churn.ts`,
      "15",
      String(seed),
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const out = new TextDecoder().decode(stdout).trim().split("\n").pop() ?? "";
  assert.equal(
    code,
    0,
    `socket_churn.ts failed (seed ${seed}):\n${new TextDecoder().decode(stderr)}`,
  );
  const { ids, retainedBytes } = JSON.parse(out) as { ids: number; retainedBytes: number };
  // Sockets open and close leave a little (events, counters): 4 MB and 16 bytes an id is room
  // for that; a Map entry and an empty Set per id are ~280 bytes.
  const bound = 4 * 1024 * 1024 + 16 * ids;
  assert.ok(
    retainedBytes < bound,
    `after ${ids} ids were each subscribed and unsubscribed once, on sockets since closed, ` +
      `the heap kept ${(retainedBytes / 1048576).toFixed(1)} MB (${
        Math.round(retainedBytes / ids)
      } bytes an id; bound ${(bound / 1048576).toFixed(1)} MB; seed ${seed})`,
  );
});
