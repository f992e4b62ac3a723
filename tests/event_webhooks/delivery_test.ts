import assert from "node:assert/strict";
import { listRecentEvents } from "../../kv/events.ts";
import { keys } from "../../kv/keys.ts";
import { readWebhookStatus } from "../../core/admin/event_webhooks.ts";
import { eventSender, eventSigner } from "../../core/event_webhooks/send.ts";
import { GIVE_UP_MS, PROMPT_MS, retryDelay, typeFilter } from "../../core/event_webhooks/outbox.ts";
import type { OutboxEntry } from "../../kv/event_webhooks.ts";
import { type Harness, startHarness } from "../helpers.ts";
import { type EventReceiver, startEventReceiver } from "./receiver.ts";

const SECRET = "event-hook-secret-0123456789";
const HOUR_MS = 3_600_000;

/** A harness whose events go to a fresh receiver (on the harness's fake clock). */
async function withReceiver(
  env: Record<string, string> = {},
  options: { kv?: Deno.Kv; clock?: Harness["clock"] } = {},
): Promise<{ h: Harness; receiver: EventReceiver } & AsyncDisposable> {
  const receiver = await startEventReceiver(SECRET, { now: () => h.clock.now() });
  const h: Harness = await startHarness({
    kv: options.kv,
    clock: options.clock,
    env: { EVENT_WEBHOOK_URL: receiver.url, EVENT_WEBHOOK_SECRET: SECRET, ...env },
  });
  return {
    h,
    receiver,
    async [Symbol.asyncDispose]() {
      await h[Symbol.asyncDispose]();
      await receiver.close();
    },
  };
}

/** Waits until every send queued or in flight on `h` is done and recorded. */
async function settle(...hs: Harness[]): Promise<void> {
  for (const h of hs) {
    // Events still being committed are handed over first.
    await h.ctx.commits.flush();
    await h.ctx.webhooks!.settled();
  }
}

Deno.test("event webhooks - every logged event reaches a real receiver, signed, as { id, type, at, data }", async () => {
  await using t = await withReceiver();
  const { h, receiver } = t;
  const signedIn = await h.signIn("+14155550100");
  await settle(h);

  const logged = await listRecentEvents(h.ctx.kv);
  assert.ok(logged.length >= 3, "a sign-in logs several events");
  assert.deepEqual(new Set(receiver.handled), new Set(logged.map((e) => e.id)));
  assert.equal(receiver.deliveries.length, logged.length, "each sent once");
  for (const delivery of receiver.deliveries) {
    assert.equal(delivery.verified, true, `${delivery.type} is signed`);
    assert.equal(delivery.status, 204);
    assert.equal(delivery.header, delivery.id);
    assert.equal(delivery.contentType, "application/json");
    assert.deepEqual(Object.keys(delivery.body).sort(), ["at", "data", "id", "type"]);
    const event = logged.find((e) => e.id === delivery.id)!;
    const { type, at, ...data } = event.data;
    assert.deepEqual(delivery.body, { id: event.id, type, at, data });
  }
  const verified = receiver.deliveries.find((d) => d.type === "otp.verified")!;
  assert.equal(verified.body.data.user_id, signedIn.user.id);
  assert.equal(await h.ctx.kv.get(keys.webhookPending()).then((e) => Number(e.value)), 0);
});

Deno.test("event webhooks - a fresh event goes out unclaimed, in one commit after it; a late one is claimed first", async () => {
  await using t = await withReceiver({ EVENT_WEBHOOK_TYPES: "otp.sent" });
  const { h, receiver } = t;
  const outbox = async () =>
    (await Array.fromAsync(h.ctx.kv.list<OutboxEntry>({ prefix: keys.webhookOutboxAll() })))
      .map((e) => e.value);
  // While the POST of a fresh event is in flight its entry is as written: still this
  // instance's alone (no sweep takes it before it is due), so no claim commit came first.
  const release = Promise.withResolvers<void>();
  receiver.hold = release.promise;
  let before: number;
  try {
    await h.requestCode("+14155550100");
    await h.ctx.commits.flush();
    while (receiver.deliveries.length === 0) await new Promise((r) => setTimeout(r, 5));
    const [inFlight] = await outbox();
    assert.equal(inFlight.leasedBy, null);
    assert.equal(inFlight.dueAt, inFlight.createdAt + PROMPT_MS);
    before = h.ctx.commits.stats.commits;
  } finally {
    receiver.hold = null;
    release.resolve();
  }
  await settle(h);
  assert.equal(receiver.handled.length, 1);
  assert.equal(h.ctx.commits.stats.commits - before, 1, "only the delivery is recorded");
  assert.deepEqual(await outbox(), []);

  // Sent again after its first seconds (a retry here): claimed first, then recorded.
  receiver.status = 503;
  await h.requestCode("+14155550101");
  await settle(h);
  receiver.status = 204;
  h.clock.advance(retryDelay(1));
  const retried = h.ctx.commits.stats.commits;
  await h.ctx.webhooks!.sweep();
  await settle(h);
  assert.equal(receiver.handled.length, 2);
  assert.equal(h.ctx.commits.stats.commits - retried, 2, "a claim, then the delivery");
});

Deno.test("event webhooks - one event after another go over one kept-alive connection", async () => {
  await using t = await withReceiver({ EVENT_WEBHOOK_TYPES: "otp.sent" });
  const { h, receiver } = t;
  for (const phone of ["+14155550100", "+14155550101", "+14155550102"]) {
    await h.requestCode(phone);
    await settle(h);
  }
  assert.equal(receiver.handled.length, 3);
  assert.equal(new Set(receiver.deliveries.map((d) => d.port)).size, 1, "one connection");
});

Deno.test("event webhooks - the receiver refuses a changed body, an old timestamp and another secret", async () => {
  await using receiver = await startEventReceiver(SECRET);
  const body = JSON.stringify({ id: "01JX", type: "otp.verified", at: "…", data: {} });
  const post = async (signature: string, sent = body) => {
    const res = await fetch(receiver.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-doorman-signature": signature },
      body: sent,
    });
    await res.body?.cancel();
    return res.status;
  };
  const now = Date.now();
  assert.equal(await post(await eventSigner(SECRET)(body, now)), 204);
  assert.equal(await post(await eventSigner(SECRET)(body, now), body.replace("otp", "OTP")), 401);
  assert.equal(await post(await eventSigner(SECRET)(body, now - 6 * 60_000)), 401);
  assert.equal(await post(await eventSigner("another-secret")(body, now)), 401);
  assert.equal(await post("sha256=00"), 401);
});

Deno.test("event webhooks - 500, 500, then 200: the same event three times, the gaps growing", async () => {
  await using t = await withReceiver({ EVENT_WEBHOOK_TYPES: "otp.verified" });
  const { h, receiver } = t;
  receiver.script.push(500, 500);
  await h.signIn("+14155550100");
  await settle(h);
  assert.equal(receiver.deliveries.length, 1);

  // In-process deadlines run the retries: the fake clock moves them.
  for (let tries = 2; tries <= 3; tries++) {
    h.clock.advance(retryDelay(tries - 1));
    await settle(h);
    assert.equal(receiver.deliveries.length, tries);
  }
  const [first, second, third] = receiver.deliveries;
  assert.deepEqual(receiver.deliveries.map((d) => d.status), [500, 500, 204]);
  assert.equal(new Set(receiver.deliveries.map((d) => d.id)).size, 1, "one event id");
  assert.deepEqual(receiver.handled, [first.id]);
  const gaps = [second.at - first.at, third.at - second.at];
  assert.ok(gaps[0] <= 10_000, `first retry within 10 s (${gaps[0]} ms)`);
  assert.ok(gaps[1] > gaps[0], `gaps grow: ${gaps}`);

  const status = await readWebhookStatus(h.ctx);
  assert.equal(status.pending, 0);
  assert.equal(status.delivered_24h, 1);
  assert.equal(status.failed_24h, 0);
  assert.equal(status.last_error, "the receiver answered 500");
  assert.equal(status.last_success_at, new Date(third.at).toISOString());
  const failures = h.log.lines.filter((line) => line.includes("event webhook delivery failed"));
  assert.equal(failures.length, 2);
  for (const line of failures) {
    const { event_id, status } = JSON.parse(line);
    assert.deepEqual([event_id, status], [first.id, 500]);
  }
  assert.ok(!h.log.lines.some((line) => line.includes(SECRET)), "the secret is never logged");
});

Deno.test("event webhooks - a receiver down for a day: tries at most an hour apart, then given up and counted", async () => {
  await using t = await withReceiver({ EVENT_WEBHOOK_TYPES: "otp.verified" });
  const { h, receiver } = t;
  receiver.status = 503;
  await h.signIn("+14155550100");
  await settle(h);
  const created = receiver.deliveries[0].at;
  // The cron sweep takes what the in-process deadlines do not hold (tries over a minute away).
  for (let minutes = 0; minutes < 26 * 60; minutes += 10) {
    h.clock.advance(10 * 60_000);
    await h.ctx.webhooks!.sweep();
    await settle(h);
  }
  const times = receiver.deliveries.map((d) => d.at);
  assert.ok(times.length > 20, `${times.length} tries`);
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i] - times[i - 1] <= HOUR_MS + 10 * 60_000, `try ${i} came in time`);
  }
  assert.ok(times.at(-1)! - created <= GIVE_UP_MS, "no try after 24 h");
  const status = await readWebhookStatus(h.ctx);
  assert.equal(status.pending, 0);
  assert.equal(status.failed_24h, 1);
  assert.equal(status.delivered_24h, 0);
  assert.equal(status.last_error, "the receiver answered 503");
  assert.equal(status.last_success_at, null);
  assert.ok(h.log.lines.some((line) => line.includes("event webhook delivery given up")));
});

Deno.test("event webhooks - EVENT_WEBHOOK_TYPES sends only the types it names", async () => {
  await using t = await withReceiver({ EVENT_WEBHOOK_TYPES: "presence.*,otp.verified" });
  const { h, receiver } = t;
  await h.signIn("+14155550100");
  await settle(h);
  const logged = await listRecentEvents(h.ctx.kv);
  assert.ok(logged.some((e) => e.data.type === "otp.sent"), "otp.sent was logged");
  assert.deepEqual(
    new Set(receiver.deliveries.map((d) => d.type)),
    new Set(["presence.online", "otp.verified"]),
  );
});

Deno.test("event webhooks - an event filtered out writes nothing", async () => {
  await using t = await withReceiver({ EVENT_WEBHOOK_TYPES: "fraud.*" });
  const { h, receiver } = t;
  await h.signIn("+14155550100");
  await settle(h);
  assert.equal(receiver.deliveries.length, 0);
  assert.equal((await h.ctx.kv.get(keys.webhookPending())).versionstamp, null);
  const entries = await Array.fromAsync(h.ctx.kv.list({ prefix: keys.webhookOutboxAll() }));
  assert.equal(entries.length, 0);
});

Deno.test("event webhooks - type patterns: exact types, prefixes ending in *, and * for all", () => {
  const accepts = typeFilter(["presence.*", "otp.verified"]);
  assert.equal(accepts("presence.online"), true);
  assert.equal(accepts("otp.verified"), true);
  assert.equal(accepts("otp.sent"), false);
  assert.equal(accepts("presences.x"), false);
  assert.equal(typeFilter([])("anything"), true);
  assert.equal(typeFilter(["*"])("user.updated"), true);
});

Deno.test("event webhooks - two instances sweeping one outbox at once send each event once", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await using a = await withReceiver({}, { kv });
    await using b = await withReceiver({}, { kv, clock: a.h.clock });
    // Down while the events happen: every first try fails and each waits for its retry.
    a.receiver.status = 503;
    b.receiver.status = 503;
    await a.h.signIn("+14155550100");
    await b.h.signIn("+14155550101");
    await settle(a.h, b.h);
    // Both sweeps see every retry coming due (their own and the other's) and hold it.
    await Promise.all([a.h.ctx.webhooks!.sweep(), b.h.ctx.webhooks!.sweep()]);
    a.receiver.status = 204;
    b.receiver.status = 204;
    a.h.clock.advance(retryDelay(1));
    await Promise.all([a.h.ctx.webhooks!.sweep(), b.h.ctx.webhooks!.sweep()]);
    await settle(a.h, b.h);

    const logged = (await listRecentEvents(kv)).map((e) => e.id).sort();
    const sent = [...a.receiver.deliveries, ...b.receiver.deliveries];
    const delivered = sent.filter((d) => d.status === 204).map((d) => d.id).sort();
    assert.deepEqual(delivered, logged, "each event delivered exactly once");
    const tries = sent.filter((d) => d.status === 503).map((d) => d.id).sort();
    assert.deepEqual(tries, logged, "and tried once while the receiver was down");
  } finally {
    kv.close();
  }
});

Deno.test("eventSender - no answer in time, a redirect, a closed port: each a failure, never a throw", async () => {
  const stalls: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (new URL(req.url).pathname === "/moved") {
      return new Response(null, { status: 307, headers: { location: "/elsewhere" } });
    }
    return new Promise((resolve) => stalls.push(() => resolve(new Response(null))));
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const event = { id: "01JX", type: "otp.verified", at: "2026-11-21T10:00:00.000Z", data: {} };
  const send = (url: string) => eventSender({ url, timeoutMs: 200, now: Date.now })(event);
  try {
    assert.deepEqual(await send(`${base}/stall`), {
      ok: false,
      status: "timeout",
      error: "no answer within 0.2 s",
    });
    assert.deepEqual(await send(`${base}/moved`), {
      ok: false,
      status: 307,
      error: "the receiver answered 307",
    });
  } finally {
    stalls.forEach((release) => release());
    await server.shutdown();
  }
  const closed = await send(base);
  assert.equal(closed.ok, false);
  assert.equal(closed.ok === false && closed.status, "unreachable");
});
