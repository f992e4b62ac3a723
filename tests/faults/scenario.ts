/**
 * One provider fault, driven through the app the way a user and an operator meet it: a real
 * code request while the fake misbehaves, then the health endpoint, the live events, the fake's
 * recovery and the recipient's hourly limit. Every check is collected, so one run reports every
 * difference at once.
 *
 * The limit probe runs with `OTP_RATE_LIMIT_PER_HOUR=2` and `OTP_RESEND_COOLDOWN_SECONDS=0`
 * ({@link LIMIT_ENV}): after the failed request, one request once the fake recovers must go
 * through (202) and the next one shows whether the failed attempt still counts (429) or was
 * given back (202).
 */
import assert from "node:assert/strict";
import type { ChannelName } from "../../core/delivery/channel.ts";
import { type Harness, recordEvents, TEST_SECRET } from "../helpers.ts";

/** The limits that make the refund rule cheap to observe. */
export const LIMIT_ENV = { OTP_RATE_LIMIT_PER_HOUR: "2", OTP_RESEND_COOLDOWN_SECONDS: "0" };

/** Secrets every harness is started with (tests/helpers.ts). */
export const HARNESS_SECRETS = [TEST_SECRET, "sms-hook-secret", "email-hook-secret"];

/** What a user and an operator should see for one fault. */
export interface Expected {
  /** 503 `CHANNEL_UNAVAILABLE`, or 202 after a fallback. */
  status: 202 | 503;
  /** With 202: the channel that delivered instead. */
  deliveredBy?: ChannelName;
  /** Whether the failed attempt still counts against the recipient's hourly limit. */
  counted: boolean;
  /** What `last_error` must say to name the failure. */
  lastError: RegExp;
  /** The request must be answered within this (the provider's deadline plus slack). */
  withinMs: number;
  /** …and, for deadlines and waits, not before this. */
  atLeastMs?: number;
}

/** One fault of one provider. */
export interface Fault {
  h: Harness;
  /** The channel whose provider misbehaves. */
  channel: ChannelName;
  /** The request body for a recipient. */
  body: (recipient: string) => Record<string, unknown>;
  /** The recipient the fault hits; its hourly limit is probed. */
  recipient: string;
  /** Another recipient, sent to first while the provider works (a warm connection, health ok). */
  warmup: string;
  /** Makes the fake misbehave. */
  breakIt: () => void;
  /** Makes it work again. */
  fixIt: () => void;
  expected: Expected;
  /** Strings that must never appear in `last_error`, events or answers. */
  secrets: string[];
  /** The code the provider received despite the failure, when it did. */
  codeSeen?: () => string | undefined;
}

/** What was measured, for reports. */
export interface Outcome {
  problems: string[];
  status: number;
  ms: number;
  lastError: string | null;
  counted: boolean | null;
}

/** Runs a fault and returns what differed from what is expected (empty: all as expected). */
export async function runFault(fault: Fault): Promise<Outcome> {
  const { h, channel, expected } = fault;
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  const events = recordEvents(h);
  const send = async (recipient: string) => {
    const started = performance.now();
    const res = await h.post("/api/v1/auth/otp/request", fault.body(recipient));
    const text = await res.text();
    return { status: res.status, text, ms: Math.round(performance.now() - started) };
  };

  const warm = await send(fault.warmup);
  assert.equal(warm.status, 202, `the provider works before the fault: ${warm.text}`);
  const eventsBefore = events.length;

  fault.breakIt();
  // A provider going away closes its kept-alive connections, and a client sees that before its
  // next message unless both happen at once (the fakes share this process): a moment first, or
  // the message goes out on a closed connection and honestly "may have been sent".
  await new Promise((resolve) => setTimeout(resolve, 20));
  const failed = await send(fault.recipient);
  check(
    failed.status === expected.status,
    `answer: ${failed.status} ${failed.text}, expected ${expected.status}`,
  );
  check(failed.status !== 500, "a provider fault must never be a 500");
  check(
    failed.ms <= expected.withinMs,
    `answered after ${failed.ms} ms, expected within ${expected.withinMs} ms`,
  );
  if (expected.atLeastMs !== undefined) {
    check(
      failed.ms >= expected.atLeastMs,
      `answered after ${failed.ms} ms, before the ${expected.atLeastMs} ms the provider was given`,
    );
  }
  if (failed.status === 503) {
    const error = JSON.parse(failed.text).error;
    check(error?.code === "CHANNEL_UNAVAILABLE", `error code ${error?.code}`);
  }
  if (failed.status === 202 && expected.deliveredBy) {
    const channelUsed = JSON.parse(failed.text).channel;
    check(
      channelUsed === expected.deliveredBy,
      `delivered by ${channelUsed}, expected ${expected.deliveredBy}`,
    );
  }

  const health = await (await h.get("/api/v1/health")).json();
  const state = health.channels?.[channel];
  check(state?.ok === false, `health: ${channel}.ok is ${state?.ok}, expected false`);
  check(health.status === "degraded", `health status ${health.status}, expected degraded`);
  const lastError: string | null = state?.last_error ?? null;
  check(
    lastError !== null && expected.lastError.test(lastError),
    `health: ${channel}.last_error ${JSON.stringify(lastError)} does not name the failure ` +
      `(${expected.lastError})`,
  );

  const down = await eventually(() =>
    events.slice(eventsBefore).find((e) => e.type === "channel.down" && e.channel === channel)
  );
  check(down !== undefined, `no channel.down event for ${channel}`);
  if (down) {
    check(
      down.error === lastError,
      `channel.down error ${JSON.stringify(down.error)} ≠ last_error`,
    );
  }
  const failedEvent = events.slice(eventsBefore).find((e) => e.type === "otp.failed");
  const counted = failedEvent ? failedEvent.counted as boolean : null;
  if (failed.status === 503) {
    check(failedEvent !== undefined, "no otp.failed event");
    check(
      counted === expected.counted,
      `otp.failed says counted: ${counted}, expected ${expected.counted}`,
    );
  }

  // Nothing an operator or a client sees carries a secret or the code.
  const code = fault.codeSeen?.();
  const shown = [
    ["last_error", lastError ?? ""],
    ["channel.down event", JSON.stringify(down ?? {})],
    ["the answer", failed.text],
    ["the health answer", JSON.stringify(health)],
  ] as const;
  for (const [where, text] of shown) {
    for (const secret of [...fault.secrets, ...HARNESS_SECRETS]) {
      check(!text.includes(secret), `${where} contains the secret ${JSON.stringify(secret)}`);
    }
    if (code) check(!text.includes(code), `${where} contains the code ${code}`);
  }
  check(!/\b\d{6}\b/.test(lastError ?? ""), `last_error looks like it carries a code`);

  // The provider recovers: the next request goes through it and the channel is up again.
  const upBefore = events.length;
  fault.fixIt();
  const recovered = await send(fault.recipient);
  check(recovered.status === 202, `after recovery: ${recovered.status} ${recovered.text}`);
  if (recovered.status === 202) {
    const via = JSON.parse(recovered.text).channel;
    check(via === channel, `after recovery delivered by ${via}, expected ${channel}`);
  }
  const up = await eventually(() =>
    events.slice(upBefore).find((e) => e.type === "channel.up" && e.channel === channel)
  );
  check(up !== undefined, `no channel.up event for ${channel} after recovery`);
  const healthAfter = await (await h.get("/api/v1/health")).json();
  check(healthAfter.channels?.[channel]?.ok === true, `health: ${channel} not ok after recovery`);

  // The refund rule: the hourly limit (2) shows whether the failed attempt still counts.
  const probe = await send(fault.recipient);
  const probeExpected = expected.counted ? 429 : 202;
  check(
    probe.status === probeExpected,
    `limit: the 3rd request got ${probe.status}, expected ${probeExpected} ` +
      `(the failed attempt should ${expected.counted ? "still count" : "have been given back"})`,
  );

  return { problems, status: failed.status, ms: failed.ms, lastError, counted };
}

/** Runs a fault and fails the test with every difference found. */
export async function assertFault(fault: Fault): Promise<Outcome> {
  const outcome = await runFault(fault);
  assert.deepEqual(
    outcome.problems,
    [],
    `${outcome.problems.length} problem(s):\n  - ${outcome.problems.join("\n  - ")}`,
  );
  return outcome;
}

/** Polls for something published asynchronously (events follow their commit). */
async function eventually<T>(find: () => T | undefined, ms = 2000): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
