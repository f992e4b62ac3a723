import assert from "node:assert/strict";
import type { DeliveryRow } from "../../islands/DeliveryLog.tsx";
import { describe, subjectsOf } from "../../components/lib/event_text.ts";
import { duration, shortId, utcText } from "../../components/lib/format.ts";
import type { LiveEvent } from "../../components/lib/live.ts";
import { mergeNewest } from "../../components/lib/live_list.ts";

const AT = "2026-12-01T10:00:00.000Z";
const USER = "usr_01M8R96X07TKPYKDJBR0G2RGHD";
const ADMIN = "usr_01M8R96WVD35GZG9GYNHE2VZYW";

function data(type: string, fields: Record<string, unknown> = {}): LiveEvent["data"] {
  return { type, at: AT, ...fields };
}

Deno.test("shortId() - keeps the kind and the last characters; short ids stay whole", () => {
  assert.equal(shortId(USER), "usr_…0G2RGHD");
  assert.equal(shortId("otp_01M8R96X07TKPYKDJBR0G2RGHD"), "otp_…0G2RGHD");
  assert.equal(shortId("usr_abc"), "usr_abc");
  assert.equal(shortId("plainidwithoutakind123"), "…kind123");
});

Deno.test("duration() and utcText() - milliseconds, seconds, unknown; UTC as logged", () => {
  assert.equal(duration(null), "—");
  assert.equal(duration(84.4), "84 ms");
  assert.equal(duration(1234), "1.2 s");
  assert.equal(duration(12_500), "13 s");
  assert.equal(utcText(AT), "2026-12-01 10:00:00 UTC");
});

Deno.test("event text - every kind names its recipient and/or user, and the acting admin", () => {
  const cases: [LiveEvent["data"], string, ReturnType<typeof subjectsOf>][] = [
    [data("presence.online", { user_id: USER }), "Came online", { userId: USER }],
    [
      data("otp.sent", { recipient: "+1415•••0100", channel: "sms", provider: "twilio" }),
      "Code sent by SMS (twilio)",
      { recipient: "+1415•••0100" },
    ],
    [
      data("otp.verified", {
        recipient: "+1415•••0100",
        user_id: USER,
        new_user: true,
        channel: "sms",
      }),
      "Signed in as a new user with a code by SMS",
      { recipient: "+1415•••0100", userId: USER },
    ],
    [
      data("otp.invalid", { recipient: "a•••@example.com", attempts_left: 1 }),
      "Wrong code, 1 attempt left",
      { recipient: "a•••@example.com" },
    ],
    [
      data("otp.rate_limited", { recipient: "+1646•••0100", limit: "range", prefix: "+1646" }),
      "Rate limited: too many SMS to +1646",
      { recipient: "+1646•••0100" },
    ],
    [
      data("otp.refused", {
        recipient: "+1646•••0110",
        reason: "blocked",
        prefix: "+1646",
        country: "US",
      }),
      "SMS refused: number range blocked (+1646, US)",
      { recipient: "+1646•••0110" },
    ],
    [
      data("user.updated", {
        user_id: USER,
        status: "suspended",
        role: "user",
        previous_status: "active",
        by: ADMIN,
      }),
      "Account now suspended (was active), role user",
      { userId: USER, byUserId: ADMIN },
    ],
    [
      data("user.update", {
        user_id: USER,
        target: USER,
        actor: { user_id: ADMIN, ip: "198.51.100.1" },
        changes: { status: { from: "active", to: "banned" } },
      }),
      "Account changed: status active → banned",
      { userId: USER, byUserId: ADMIN },
    ],
    [
      data("fraud.prefix_unblock", { target: "+1646", actor: { user_id: ADMIN, ip: "::1" } }),
      "Number range +1646 unblocked",
      { byUserId: ADMIN },
    ],
    [
      data("settings.update", {
        target: "settings",
        actor: { user_id: ADMIN, ip: "::1" },
        changes: { otp_length: { from: 6, to: 8 } },
      }),
      "Settings changed: otp_length 6 → 8",
      { byUserId: ADMIN },
    ],
    [data("channel.down", { channel: "sms", error: "timeout" }), "SMS is failing: timeout", {}],
  ];
  for (const [d, text, who] of cases) {
    assert.equal(describe(d), text, d.type);
    assert.deepEqual(subjectsOf(d), who, d.type);
  }
  assert.equal(describe(data("something.new", { target: "x" })), "something.new x");
});

function row(id: string): DeliveryRow {
  return {
    id,
    at: AT,
    request_id: null,
    channel: "sms",
    provider: "webhook",
    to: "+1415•••0100",
    country: "US",
    status: "sent",
    provider_id: null,
    latency_ms: 1,
    error: null,
    updated_at: null,
  };
}

Deno.test("mergeNewest() - the fresh first page replaces its rows; older loaded rows stay", () => {
  const kept = ["d5", "d4", "d3", "d2", "d1"].map(row);
  const fresh = ["d7", "d6", "d5", "d4"].map(row);
  fresh[3] = { ...fresh[3], status: "delivered" };
  const merged = mergeNewest(fresh, kept);
  assert.deepEqual(merged.map((d) => d.id), ["d7", "d6", "d5", "d4", "d3", "d2", "d1"]);
  assert.equal(merged[3].status, "delivered", "a row the fresh page has is taken from it");
  assert.deepEqual(mergeNewest([], kept), kept);
});

Deno.test("event text - a suspension that ended by itself names no admin", () => {
  const ended = data("user.updated", {
    user_id: USER,
    status: "active",
    role: "user",
    previous_status: "suspended",
    reason: "suspension_ended",
  });
  assert.equal(describe(ended), "Suspension over: the account is active again");
  assert.deepEqual(subjectsOf(ended), { userId: USER });
  const audit = data("user.update", {
    user_id: USER,
    actor: { user_id: "system", ip: "" },
    changes: { status: { from: "suspended", to: "active" } },
  });
  assert.deepEqual(subjectsOf(audit), { userId: USER });
});
