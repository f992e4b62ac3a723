import assert from "node:assert/strict";
import { listAudit } from "../../kv/audit.ts";
import { errorOf, type Harness, startHarness } from "../helpers.ts";
import {
  ADMIN_EMAIL,
  deliveries,
  eventsOf,
  recordLiveEvents,
  requestOtp,
  send,
  signInByEmail,
} from "./helpers.ts";

const DAY_MS = 86_400_000;
const ADMIN_IP = "198.51.100.1";

/** The `i`th phone of a US number range (`+1415` → `+1415555 01xx`). */
function phoneIn(range: string, i: number): string {
  return `${range}55501${String(i).padStart(2, "0")}`;
}

/** Sends `count` SMS codes to distinct phones of `range`, each answered 202. */
async function sendCodes(
  h: Harness,
  range: string,
  count: number,
  options: { verify?: boolean; ip?: string } = {},
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const phone = phoneIn(range, i);
    const res = await requestOtp(h, { phone, channel: "sms" }, { ip: options.ip });
    assert.equal(res.status, 202, `SMS ${i + 1} to ${range}: ${await res.clone().text()}`);
    const { request_id } = await res.json();
    if (!options.verify) continue;
    const code = h.sms.lastCode(phone);
    const verified = await h.post("/api/v1/auth/otp/verify", { request_id, code }, {
      ip: options.ip,
    });
    assert.equal(verified.status, 200);
    await verified.body?.cancel();
  }
}

function lift(h: Harness, path: string, token: string): Promise<Response> {
  return send(h, `/api/v1/admin/fraud/prefixes/${path}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${token}` },
    ip: ADMIN_IP,
  });
}

Deno.test("SMS auto-block - a range with 10 unused codes in an hour is blocked 24 h, told once; a range whose codes are used is not", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN_EMAIL } });
  const events = recordLiveEvents(h);
  await sendCodes(h, "+1415", 10, { ip: "203.0.113.10" });
  const sentBefore = h.sms.messages.length;

  const eleventh = await requestOtp(h, { phone: phoneIn("+1415", 10), channel: "sms" });
  assert.equal(eleventh.status, 403);
  assert.equal((await errorOf(eleventh)).code, "RECIPIENT_NOT_ALLOWED");
  const blockedAt = h.clock.now();
  h.clock.advance(1_000);
  const twelfth = await requestOtp(h, { phone: phoneIn("+1415", 11) });
  assert.equal(twelfth.status, 403);
  assert.equal((await errorOf(twelfth)).code, "RECIPIENT_NOT_ALLOWED");
  assert.equal(h.sms.messages.length, sentBefore, "nothing sent to a blocked range");

  const blocked = events.filter((e) => e.data.type === "fraud.prefix_blocked");
  assert.equal(blocked.length, 1, "told once");
  assert.equal(blocked[0].kind, "fraud");
  const until = new Date(blockedAt + DAY_MS).toISOString();
  assert.deepEqual(
    { ...blocked[0].data, at: undefined },
    {
      type: "fraud.prefix_blocked",
      at: undefined,
      prefix: "+1415",
      country: "US",
      sent: 10,
      verified: 0,
      until,
    },
  );

  // 12 SMS to another range, each code used: not pumping, never blocked.
  await sendCodes(h, "+1212", 12, { verify: true, ip: "203.0.113.11" });
  const thirteenth = await requestOtp(h, { phone: phoneIn("+1212", 12), channel: "sms" });
  assert.equal(thirteenth.status, 202);
  await thirteenth.body?.cancel();

  const admin = await signInByEmail(h, ADMIN_EMAIL, ADMIN_IP);
  const fraud = await h.get("/api/v1/admin/fraud", { token: admin.token });
  assert.equal(fraud.status, 200);
  assert.match(fraud.headers.get("content-type") ?? "", /application\/json/);
  const body = await fraud.json();
  assert.deepEqual(body.blocked_prefixes, [{
    prefix: "+1415",
    until,
    reason: body.blocked_prefixes[0]?.reason,
    sent: 10,
    verified: 0,
  }]);
  assert.equal(typeof body.blocked_prefixes[0].reason, "string");
  assert.equal(body.sms_today, 10 + 13);
  assert.equal(body.sms_daily_limit, null);

  // The refusals are in the delivery log, masked, with why.
  const refused = await deliveries(h, admin.token, "status=refused");
  assert.deepEqual(
    refused.deliveries.map((d) => [d.to, d.country, d.error]),
    [
      ["+1415•••0111", "US", "number range blocked for SMS"],
      ["+1415•••0110", "US", "number range blocked for SMS"],
    ],
  );
});

Deno.test("SMS auto-block - an admin lifts a block: SMS flows again at once, audited; errors are 404, 403, 400", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN_EMAIL } });
  const events = recordLiveEvents(h);
  // Three ranges blocked, one for each way of writing the range in the path.
  for (const [i, range] of ["+1415", "+1646", "+1718"].entries()) {
    await sendCodes(h, range, 10, { ip: `203.0.113.${30 + i}` });
    const res = await requestOtp(h, { phone: phoneIn(range, 10), channel: "sms" });
    assert.equal(res.status, 403);
    await res.body?.cancel();
  }
  assert.equal(eventsOf(events, "fraud.prefix_blocked").length, 3);
  const admin = await signInByEmail(h, ADMIN_EMAIL, ADMIN_IP);
  const user = await signInByEmail(h, "someone@example.com", "198.51.100.2");

  // Not an admin: 403, and the block stays.
  const forbidden = await lift(h, "%2B1415", user.token);
  assert.equal(forbidden.status, 403);
  assert.equal((await errorOf(forbidden)).code, "FORBIDDEN");
  const anonymous = await send(h, "/api/v1/admin/fraud/prefixes/%2B1415", { method: "DELETE" });
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();

  for (const malformed of ["abc", "%2B0415", "%2B", "%2B1234567890", "%2B14-15", "%20"]) {
    const res = await lift(h, malformed, admin.token);
    assert.equal(res.status, 400, malformed);
    const error = await errorOf(res);
    assert.equal(error.code, "VALIDATION_FAILED", malformed);
    assert.ok(Array.isArray(error.details), malformed);
  }
  const still = await (await h.get("/api/v1/admin/fraud", { token: admin.token })).json();
  assert.deepEqual(still.blocked_prefixes.map((b: { prefix: string }) => b.prefix).sort(), [
    "+1415",
    "+1646",
    "+1718",
  ]);

  const auditEvents = events.length;
  h.clock.advance(1_000);
  const lifted = await lift(h, "%2B1415", admin.token);
  assert.equal(lifted.status, 204);
  assert.equal(await lifted.text(), "");
  h.clock.advance(1_000);
  const raw = await lift(h, "+1646", admin.token);
  assert.equal(raw.status, 204);
  await raw.body?.cancel();
  h.clock.advance(1_000);
  const bare = await lift(h, "1718", admin.token);
  assert.equal(bare.status, 204);
  await bare.body?.cancel();

  const after = await (await h.get("/api/v1/admin/fraud", { token: admin.token })).json();
  assert.deepEqual(after.blocked_prefixes, []);

  // Not re-blocked at once, though its last hour still has 10 unused codes.
  for (const range of ["+1415", "+1646", "+1718"]) {
    const res = await requestOtp(h, { phone: phoneIn(range, 11), channel: "sms" });
    assert.equal(res.status, 202, range);
    await res.body?.cancel();
    assert.equal(h.sms.messages.at(-1)!.to, phoneIn(range, 11));
  }
  assert.equal(eventsOf(events, "fraud.prefix_blocked").length, 3, "no new block");

  // Lifted already: 404.
  const again = await lift(h, "%2B1415", admin.token);
  assert.equal(again.status, 404);
  assert.equal((await errorOf(again)).code, "NOT_FOUND");
  const never = await lift(h, "%2B1999", admin.token);
  assert.equal(never.status, 404);
  await never.body?.cancel();

  // Each lift is audited, in KV and as an `audit` event.
  const { entries } = await listAudit(h.ctx.kv, { limit: 10 });
  assert.deepEqual(
    entries.map((e) => [e.action, e.target, e.actor.userId, e.actor.ip]),
    [
      ["fraud.prefix_unblock", "+1718", admin.userId, ADMIN_IP],
      ["fraud.prefix_unblock", "+1646", admin.userId, ADMIN_IP],
      ["fraud.prefix_unblock", "+1415", admin.userId, ADMIN_IP],
    ],
  );
  const first = entries[2];
  assert.equal(first.at, h.clock.now() - 2_000);
  assert.match(first.id, /^aud_/);
  assert.deepEqual(first.changes.status, { from: "blocked", to: "lifted" });
  const audits = events.slice(auditEvents).filter((e) => e.kind === "audit");
  assert.deepEqual(
    audits.map((e) => [e.data.type, e.data.action, e.data.target, e.data.actor]),
    ["+1415", "+1646", "+1718"].map((prefix) => [
      "fraud.prefix_unblock",
      "fraud.prefix_unblock",
      prefix,
      { user_id: admin.userId, ip: ADMIN_IP },
    ]),
  );
  assert.equal(audits[0].data.id, first.id);
});

Deno.test("SMS auto-block - the line is 20 % used: 2 of 10 keeps a range open, 1 of 10 blocks it", async () => {
  await using h = await startHarness();
  const events = recordLiveEvents(h);
  for (const [range, used] of [["+1310", 2], ["+1202", 1]] as const) {
    await sendCodes(h, range, 10 - used, { ip: "203.0.113.40" });
    // The last ones (tenth included) are used: those are the newest codes.
    for (let i = 10 - used; i < 10; i++) {
      const phone = phoneIn(range, i);
      const res = await requestOtp(h, { phone, channel: "sms" }, { ip: "203.0.113.41" });
      assert.equal(res.status, 202);
      const { request_id } = await res.json();
      const verified = await h.post("/api/v1/auth/otp/verify", {
        request_id,
        code: h.sms.lastCode(phone),
      });
      assert.equal(verified.status, 200);
      await verified.body?.cancel();
    }
  }
  const open = await requestOtp(h, { phone: phoneIn("+1310", 10), channel: "sms" });
  assert.equal(open.status, 202);
  await open.body?.cancel();
  const closed = await requestOtp(h, { phone: phoneIn("+1202", 10), channel: "sms" });
  assert.equal(closed.status, 403);
  assert.equal((await errorOf(closed)).code, "RECIPIENT_NOT_ALLOWED");
  assert.deepEqual(
    eventsOf(events, "fraud.prefix_blocked").map((e) => [e.prefix, e.sent, e.verified]),
    [["+1202", 10, 1]],
  );
});
