import assert from "node:assert/strict";
import { PROMPT_MS, typeFilter } from "../../core/event_webhooks/outbox.ts";
import { listRecentEvents } from "../../kv/events.ts";
import { doormanEnv, outputOf, startDoorman, stopDoorman } from "../../bench/doorman_process.ts";
import type { DoormanProcess } from "../../bench/doorman_process.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../fakes/webhook_receiver.ts";
import { kvGuardLines } from "../../fakes/kv_guard.ts";
import { startEventReceiver } from "./receiver.ts";

/*
 * Real `main.ts` processes over one KV file, sending events to a receiver in this process:
 * killed with SIGKILL while the receiver is down, then started again; and two at once.
 */

const SECRET = "event-hook-secret-0123456789";
const HOOK_SECRET = "sms-hook-secret";
/** At least 32 bytes; every process signs and checks tokens with it. */
const JWT_SECRET = "webhooks-jwt-secret-0123456789abcdef-0123";
const TYPES = "otp.*,presence.*";
const goesOut = typeFilter(TYPES.split(","));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A KV file in a directory of its own, the SMS and event receivers, and `main.ts` processes
 * started on them; on dispose the processes are stopped and all of it removed.
 */
async function startSetup(prefix: string) {
  const dir = await Deno.makeTempDir({ prefix });
  const kvPath = `${dir}/kv.sqlite`;
  const sms = startWebhookReceiver({ secret: HOOK_SECRET });
  const events = await startEventReceiver(SECRET);
  const env = {
    ...doormanEnv({ kvPath, jwtSecret: JWT_SECRET, smsUrl: sms.url, smsSecret: HOOK_SECRET }),
    EVENT_WEBHOOK_URL: events.url,
    EVENT_WEBHOOK_SECRET: SECRET,
    EVENT_WEBHOOK_TYPES: TYPES,
  };
  /** The processes started; those still in it are stopped on dispose. */
  const servers: DoormanProcess[] = [];
  return {
    kvPath,
    sms,
    events,
    servers,
    async start(name: string): Promise<DoormanProcess> {
      const server = await startDoorman(name, env);
      servers.push(server);
      return server;
    },
    async [Symbol.asyncDispose]() {
      for (const server of servers) await stopDoorman(server, "SIGTERM");
      await sms.close();
      await events[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Signs `phone` in through `server`'s HTTP API, its code read from the SMS receiver. */
async function signIn(server: DoormanProcess, sms: WebhookReceiver, phone: string) {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  const { request_id } = await post("/api/v1/auth/otp/request", { phone });
  await post("/api/v1/auth/otp/verify", { request_id, code: sms.lastCode(phone) });
}

/** Ids of the logged events that go out, read from the KV file. */
async function outgoing(kvPath: string): Promise<string[]> {
  const kv = await Deno.openKv(kvPath);
  try {
    const events = await listRecentEvents(kv, 1000);
    return events.filter((e) => goesOut(e.data.type)).map((e) => e.id).sort();
  } finally {
    kv.close();
  }
}

/** Waits until `check()` holds, polling; fails with `what` after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms: number) {
  for (const deadline = Date.now() + ms; !await check();) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

Deno.test("event webhooks - killed with SIGKILL while the receiver is down: after a restart the pending events arrive", async () => {
  await using setup = await startSetup("doorman_webhooks_kill9_");
  const { kvPath, sms, events } = setup;
  events.status = 503;
  const a = await setup.start("A");
  for (const phone of ["+14155550100", "+14155550101", "+14155550102"]) {
    await signIn(a, sms, phone);
  }
  const expected = await outgoing(kvPath);
  assert.ok(expected.length >= 9, "a code, a sign-in and going online, three times");
  const tried = () => new Set(events.deliveries.map((d) => d.id));
  await until("every event tried once", () => tried().size === expected.length, 5_000);
  // Killed between tries: the first retries are due seconds later.
  assert.equal((await stopDoorman(a, "SIGKILL")).signal, "SIGKILL");
  assert.deepEqual(events.handled, []);

  events.status = 204;
  const b = await setup.start("B");
  await until(
    "the pending events arrive",
    () => events.handled.length === expected.length,
    30_000,
  ).catch((error) => {
    throw new Error(`${error.message}\n${outputOf(b)}`);
  });
  const arrived = Date.now() - b.listeningAt;
  assert.ok(arrived < 90_000, `within 90 s of the restart (${arrived} ms)`);
  assert.deepEqual([...events.handled].sort(), expected);
  const delivered = events.deliveries.filter((d) => d.status === 204).map((d) => d.id);
  assert.equal(delivered.length, expected.length, "each delivered once");
  assert.ok(events.deliveries.every((d) => d.verified), "every delivery signed");
  assert.deepEqual(kvGuardLines([...a.stderr, ...b.stderr]), []);
});

Deno.test("event webhooks - two real instances over one KV file deliver each event exactly once", async () => {
  await using setup = await startSetup("doorman_webhooks_two_");
  const { kvPath, sms, events, servers } = setup;
  const [a, b] = await Promise.all([setup.start("A"), setup.start("B")]);
  // Sign-ins through both, at once, while each one's start-up sweep runs too.
  await Promise.all(
    Array.from({ length: 6 }, (_, i) => signIn(i % 2 ? a : b, sms, `+1415555011${i}`)),
  );
  const signedIn = Date.now();
  const expected = await outgoing(kvPath);
  assert.ok(expected.length >= 18);
  await until("every event arrives", () => events.handled.length === expected.length, 10_000);
  // Each start-up sweep saw the other's new entries and held them for when they would be
  // its to take: past that, the claims lost to the sends that came first.
  await sleep(signedIn + PROMPT_MS + 1_000 - Date.now());
  for (const server of servers.splice(0)) await stopDoorman(server, "SIGTERM");

  assert.deepEqual([...events.handled].sort(), expected);
  assert.deepEqual(events.deliveries.map((d) => d.id).sort(), expected, "each sent once");
  assert.ok(events.deliveries.every((d) => d.verified && d.status === 204));
  assert.equal((await outgoing(kvPath)).length, expected.length);
  assert.deepEqual(kvGuardLines([...a.stderr, ...b.stderr]), []);
});
