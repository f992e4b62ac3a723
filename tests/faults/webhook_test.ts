/**
 * Faults of the generic `webhook` provider (SMS and email), through the app as configured by
 * the environment (tests/helpers.ts wires both receivers). Any non-2xx answer, a timeout or a
 * broken connection "may have sent" (core/delivery/http_provider.ts): the attempt keeps counting;
 * only a refused connection gives it back. Hangs at the full 5 s deadline: hangs_test.ts.
 */
import assert from "node:assert/strict";
import type { WebhookReceiver } from "../../fakes/webhook_receiver.ts";
import { type Harness, recordEvents, startHarness } from "../helpers.ts";
import { assertFault, type Expected, LIMIT_ENV } from "./scenario.ts";

/** Fast faults must answer at once, well inside the 5 s provider deadline. */
const FAST_MS = 2_000;

interface Target {
  channel: "sms" | "email";
  receiver: (h: Harness) => WebhookReceiver;
  body: (recipient: string) => Record<string, unknown>;
  recipient: string;
  warmup: string;
}

const TARGETS: Target[] = [
  {
    channel: "sms",
    receiver: (h) => h.sms,
    body: (phone) => ({ phone }),
    recipient: "+14155550101",
    warmup: "+14155550102",
  },
  {
    channel: "email",
    receiver: (h) => h.email,
    body: (email) => ({ email }),
    recipient: "ada@example.com",
    warmup: "bob@example.com",
  },
];

const FAULTS: {
  name: string;
  mode: WebhookReceiver["mode"];
  expected: (channel: string) => Expected;
}[] = [
  {
    name: "answers 429 with Retry-After",
    mode: { kind: "status", status: 429, retryAfter: 30 },
    expected: (channel) => ({
      status: 503,
      counted: true,
      lastError: new RegExp(`^${channel} webhook answered 429$`),
      withinMs: FAST_MS,
    }),
  },
  {
    name: "answers 503",
    mode: { kind: "status", status: 503 },
    expected: (channel) => ({
      status: 503,
      counted: true,
      lastError: new RegExp(`^${channel} webhook answered 503$`),
      withinMs: FAST_MS,
    }),
  },
  {
    name: "takes the message, then closes the connection before answering",
    mode: { kind: "drop" },
    expected: (channel) => ({
      status: 503,
      counted: true,
      lastError: new RegExp(`^${channel} webhook connection (failed|closed|lost)`),
      withinMs: FAST_MS,
    }),
  },
  {
    name: "refuses the connection (nothing listens)",
    mode: { kind: "refuse" },
    expected: (channel) => ({
      status: 503,
      counted: false,
      lastError: new RegExp(`^${channel} webhook could not be reached$`),
      withinMs: FAST_MS,
    }),
  },
];

for (const target of TARGETS) {
  for (const fault of FAULTS) {
    Deno.test(`faults: ${target.channel} webhook ${fault.name}`, async () => {
      await using h = await startHarness({ env: LIMIT_ENV });
      const receiver = target.receiver(h);
      await assertFault({
        h,
        channel: target.channel,
        body: target.body,
        recipient: target.recipient,
        warmup: target.warmup,
        breakIt: () => receiver.mode = fault.mode,
        fixIt: () => receiver.mode = { kind: "ok" },
        expected: fault.expected(target.channel),
        secrets: [],
        codeSeen: () => receiver.lastCode(target.recipient),
      });
      if (fault.mode.kind === "drop") {
        assert.ok(
          receiver.messages.some((m) => m.to === target.recipient),
          "the receiver took the message before the connection dropped",
        );
      }
    });
  }

  Deno.test(`faults: ${target.channel} webhook answers 200, then the body is cut: delivered`, async () => {
    // The status line said it was taken: the rest of the answer carries nothing Doorman needs.
    await using h = await startHarness({ env: LIMIT_ENV });
    const receiver = target.receiver(h);
    const events = recordEvents(h);
    receiver.mode = { kind: "cut" };
    const res = await h.post("/api/v1/auth/otp/request", target.body(target.recipient));
    assert.equal(res.status, 202);
    assert.equal((await res.json()).channel, target.channel);
    assert.ok(receiver.lastCode(target.recipient));
    const health = await (await h.get("/api/v1/health")).json();
    assert.equal(health.channels[target.channel].ok, true);
    assert.equal(events.filter((e) => e.type === "channel.down").length, 0);
  });
}

for (const target of TARGETS) {
  Deno.test(`faults: ${target.channel} webhook drops the answer: the message is sent once`, async () => {
    // The receiver took the message, then the connection closed before its answer. On a
    // kept-alive connection Deno's fetch sends the POST again by itself: the gateway gets (and
    // may deliver) the message twice for one counted request.
    await using h = await startHarness({ env: LIMIT_ENV });
    const receiver = target.receiver(h);
    const warm = await h.post("/api/v1/auth/otp/request", target.body(target.warmup));
    assert.equal(warm.status, 202, "a warm, kept-alive connection to the receiver");
    await warm.body?.cancel();
    receiver.mode = { kind: "drop" };
    const res = await h.post("/api/v1/auth/otp/request", target.body(target.recipient));
    await res.body?.cancel();
    const received = receiver.messages.filter((m) => m.to === target.recipient).length;
    assert.equal(received, 1, `one request reached the receiver ${received} times (${res.status})`);
  });
}
