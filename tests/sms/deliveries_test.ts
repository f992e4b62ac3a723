import assert from "node:assert/strict";
import { errorOf, startHarness } from "../helpers.ts";
import {
  ADMIN_EMAIL,
  deliveries,
  type DeliveryJson,
  requestOtp,
  signInByEmail,
} from "./helpers.ts";

Deno.test("delivery log - every attempt newest first, filtered by channel and status, paged, never the code", async () => {
  await using h = await startHarness({
    env: { ADMIN_EMAILS: ADMIN_EMAIL, SMS_ALLOWED_COUNTRIES: "US" },
  });
  // The admin first: their email is the oldest entry.
  const admin = await signInByEmail(h, ADMIN_EMAIL);
  h.clock.advance(1_000);
  const made: { kind: string; to: string }[] = [];
  const requests: [Record<string, unknown>, number][] = [
    [{ phone: "+14155550100" }, 202],
    [{ email: "Ada@Example.com" }, 202],
    [{ phone: "+447400123456", channel: "sms" }, 403],
    [{ phone: "+12125550100", channel: "sms" }, 202],
    [{ email: "grace@example.org" }, 202],
    [{ phone: "+79161234567" }, 403],
    [{ phone: "+16465550100" }, 202],
  ];
  for (const [body, status] of requests) {
    const res = await requestOtp(h, body);
    assert.equal(res.status, status, JSON.stringify(body));
    await res.body?.cancel();
    made.push({ kind: "phone" in body ? "phone" : "email", to: String(body.phone ?? body.email) });
    h.clock.advance(1_000);
  }
  const codes = [...h.sms.messages, ...h.email.messages].map((m) =>
    m.text.match(/(?<!\w)\d{4,10}(?!\w)/)![0]
  );
  assert.equal(codes.length, 6);

  const all = await deliveries(h, admin.token);
  assert.equal(all.cursor, null);
  assert.deepEqual(
    all.deliveries.map((d) => [d.channel, d.status, d.to, d.country]),
    [
      ["sms", "sent", "+1646•••0100", "US"],
      ["sms", "refused", "+7916•••4567", "RU"],
      ["email", "sent", "g•••@example.org", null],
      ["sms", "sent", "+1212•••0100", "US"],
      ["sms", "refused", "+4474•••3456", "GB"],
      ["email", "sent", "a•••@example.com", null],
      ["sms", "sent", "+1415•••0100", "US"],
      ["email", "sent", "a•••@example.com", null],
    ],
  );
  const times = all.deliveries.map((d) => Date.parse(d.at));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), "newest first");
  for (const d of all.deliveries) {
    assert.match(d.id, /^dlv_/);
    assert.equal(d.provider, d.status === "refused" ? "doorman" : "webhook");
    if (d.status === "sent") {
      assert.match(d.request_id ?? "", /^otp_/);
      assert.equal(typeof d.latency_ms, "number");
      assert.equal(d.error, null);
    }
  }
  for (const code of codes) assert.ok(!all.raw.includes(code), "never the code");
  for (const { to } of made) assert.ok(!all.raw.includes(to), "never the whole recipient");

  const email = await deliveries(h, admin.token, "channel=email");
  assert.deepEqual(email.deliveries.map((d) => d.to), [
    "g•••@example.org",
    "a•••@example.com",
    "a•••@example.com",
  ]);
  const refused = await deliveries(h, admin.token, "status=refused");
  assert.deepEqual(refused.deliveries.map((d) => d.country), ["RU", "GB"]);
  const smsSent = await deliveries(h, admin.token, "channel=sms&status=sent");
  assert.deepEqual(smsSent.deliveries.map((d) => d.to), [
    "+1646•••0100",
    "+1212•••0100",
    "+1415•••0100",
  ]);
  const none = await deliveries(h, admin.token, "channel=telegram");
  assert.deepEqual(none.deliveries, []);
  assert.equal(none.cursor, null);

  // Pages of 3 add up to the whole list, in order, without repeats.
  const paged: DeliveryJson[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Awaited<ReturnType<typeof deliveries>> = await deliveries(
      h,
      admin.token,
      `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    assert.ok(page.deliveries.length <= 3);
    paged.push(...page.deliveries);
    cursor = page.cursor;
    pages++;
  } while (cursor && pages < 10);
  assert.deepEqual(paged.map((d) => d.id), all.deliveries.map((d) => d.id));
  assert.ok(pages >= 3);
  // Filters page too.
  const first = await deliveries(h, admin.token, "channel=sms&limit=2");
  assert.equal(first.deliveries.length, 2);
  assert.ok(first.cursor);
  const rest = await deliveries(
    h,
    admin.token,
    `channel=sms&limit=2&cursor=${encodeURIComponent(first.cursor)}`,
  );
  assert.deepEqual(
    [...first.deliveries, ...rest.deliveries].map((d) => d.to),
    ["+1646•••0100", "+7916•••4567"].concat(["+1212•••0100", "+4474•••3456"]),
  );
});

Deno.test("delivery log - bad queries are 400, non-admins 403, no token 401", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN_EMAIL } });
  const admin = await signInByEmail(h, ADMIN_EMAIL);
  for (
    const query of [
      "channel=fax",
      "status=lost",
      "limit=0",
      "limit=201",
      "limit=ten",
      "cursor=%21%21",
      "code=1",
    ]
  ) {
    const res = await h.get(`/api/v1/admin/deliveries?${query}`, { token: admin.token });
    assert.equal(res.status, 400, query);
    assert.equal((await errorOf(res)).code, "VALIDATION_FAILED", query);
  }
  const user = await signInByEmail(h, "someone@example.com", "198.51.100.2");
  const forbidden = await h.get("/api/v1/admin/deliveries", { token: user.token });
  assert.equal(forbidden.status, 403);
  assert.equal((await errorOf(forbidden)).code, "FORBIDDEN");
  const anonymous = await h.get("/api/v1/admin/deliveries");
  assert.equal(anonymous.status, 401);
  assert.equal((await errorOf(anonymous)).code, "UNAUTHORIZED");
  const fraud = await h.get("/api/v1/admin/fraud", { token: user.token });
  assert.equal(fraud.status, 403);
  await fraud.body?.cancel();
});
