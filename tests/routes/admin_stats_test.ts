import assert from "node:assert/strict";
import { CRON_JOBS } from "../../core/jobs/cron.ts";
import { keys } from "../../kv/keys.ts";
import { errorOf, type Harness, startHarness } from "../helpers.ts";
import { startTelegramHarness } from "../telegram/helpers.ts";

const ADMIN = "+14155550000";

interface Stats {
  users: { total: number; online: number };
  otp: { requested: number; sent: number; verified: number; failed: number; rate_limited: number };
  series: { minute: string; at: string; requested: number; verified: number; online: number }[];
  funnel: Record<"sms" | "telegram" | "email", Record<"requested" | "sent" | "verified", number>>;
  channels: Record<
    "telegram" | "sms" | "email",
    { configured: boolean; provider: string; ok: boolean; last_error: string | null }
  >;
}

async function stats(h: Harness, token: string, query = ""): Promise<Stats> {
  const res = await h.get(`/api/v1/admin/stats${query}`, { token });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

async function countKeys(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix })) n++;
  return n;
}

Deno.test("admin stats - counts sign-ins, a wrong code, a rate-limited request and a failed delivery", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const admin = await h.signIn(ADMIN);
  await h.signIn("+14155550101");
  await h.signIn("+14155550102");

  const wrong = await h.requestCode("+14155550103");
  const guess = wrong.code === "000000" ? "111111" : "000000";
  const invalid = await h.post("/api/v1/auth/otp/verify", {
    request_id: wrong.requestId,
    code: guess,
  });
  assert.equal(invalid.status, 400);
  await invalid.body?.cancel();
  const again = await h.post("/api/v1/auth/otp/request", { phone: "+14155550103" });
  assert.equal(again.status, 429, "the resend cooldown refuses it");
  await again.body?.cancel();

  h.sms.mode = { kind: "status", status: 500 };
  const undelivered = await h.post("/api/v1/auth/otp/request", { phone: "+14155550104" });
  assert.equal(undelivered.status, 503);
  await undelivered.body?.cancel();

  const body = await stats(h, admin.access_token);
  assert.deepEqual(body.users, { total: 3, online: 3 });
  assert.deepEqual(body.otp, { requested: 5, sent: 4, verified: 3, failed: 2, rate_limited: 1 });
  assert.equal(body.series.length, 60);
  assert.deepEqual(body.series.at(-1), {
    minute: "2026-11-21T10:00:00.000Z",
    at: "2026-11-21T10:00:00.000Z",
    requested: 5,
    verified: 3,
    online: 3,
  });
  assert.equal(body.channels.sms.configured, true);
  assert.equal(body.channels.sms.ok, false);
  assert.match(body.channels.sms.last_error ?? "", /500/);
  assert.equal(body.channels.email.configured, true);
  assert.equal(body.channels.email.ok, true);
  assert.equal(body.channels.email.last_error, null);
  assert.equal(body.channels.telegram.configured, false);
  assert.equal(body.channels.telegram.ok, false);
});

Deno.test("admin stats - 60 minutes oldest first, the current one last, online worked back per minute", async () => {
  await using h = await startHarness({
    env: { ADMIN_PHONES: ADMIN, PRESENCE_TIMEOUT_SECONDS: "3600" },
  });
  h.clock.advance(10_000); // 10:00:10
  const admin = await h.signIn(ADMIN);
  h.clock.advance(3 * 60_000); // 10:03:10
  const first = await h.signIn("+14155550101");
  h.clock.advance(2 * 60_000); // 10:05:10
  await h.signIn("+14155550102");
  const logout = await h.post("/api/v1/auth/logout", {}, { token: first.access_token });
  assert.equal(logout.status, 204);
  h.clock.advance(2 * 60_000 + 20_000); // 10:07:30

  const body = await stats(h, admin.access_token);
  assert.equal(body.series.length, 60);
  assert.equal(body.series[0].minute, "2026-11-21T09:08:00.000Z");
  assert.equal(body.series[59].minute, "2026-11-21T10:07:00.000Z");
  const byMinute = new Map(body.series.map((m) => [m.minute.slice(11, 16), m]));
  assert.equal(byMinute.size, 60);
  const online = (hhmm: string) => byMinute.get(hhmm)!.online;
  assert.equal(online("09:08"), 0);
  assert.equal(online("09:59"), 0);
  assert.equal(online("10:00"), 1);
  assert.equal(online("10:02"), 1);
  assert.equal(online("10:03"), 2);
  assert.equal(online("10:04"), 2);
  assert.equal(online("10:05"), 2, "one in, one out");
  assert.equal(online("10:06"), 2, "carried while nothing changes");
  assert.equal(online("10:07"), 2, "the current minute is the live counter");
  for (const hhmm of ["10:00", "10:03", "10:05"]) {
    assert.equal(byMinute.get(hhmm)!.requested, 1, hhmm);
    assert.equal(byMinute.get(hhmm)!.verified, 1, hhmm);
  }
  assert.equal(body.series.reduce((sum, m) => sum + m.requested, 0), 3);
  assert.deepEqual(body.users, { total: 3, online: 2 });
});

Deno.test("admin stats - otp counts cover the last 60 minutes only; the total stays", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  await h.signIn("+14155550101");
  h.clock.advance(59 * 60_000);
  const admin = await h.signIn(ADMIN);
  const within = await stats(h, admin.access_token);
  assert.equal(within.otp.verified, 2);
  assert.equal(within.series[0].verified, 1, "10:00 is still the oldest minute");

  h.clock.advance(60_000);
  const later = await stats(h, admin.access_token);
  assert.equal(later.otp.verified, 1);
  assert.equal(later.otp.requested, 1);
  assert.equal(later.users.total, 2);
  assert.equal(later.series[0].minute, "2026-11-21T10:01:00.000Z");
  assert.equal(later.users.online, 1, "the first user timed out");
  assert.equal(later.series.at(-1)!.online, 1);
});

Deno.test("admin stats - a Telegram deep link counts as one request when its code goes out", async () => {
  await using t = await startTelegramHarness({ env: { ADMIN_PHONES: ADMIN } });
  const admin = await t.h.signIn(ADMIN);
  const res = await t.h.post("/api/v1/auth/otp/request", { channel: "telegram" });
  assert.equal(res.status, 202);
  const token = (await res.json()).deep_link.split("start=")[1];
  await t.say(`/start ${token}`);
  assert.ok(t.lastCode(), "the code went to the chat");

  const body = await stats(t.h, admin.access_token);
  assert.equal(body.otp.requested, 2, "the admin's sign-in and the deep link");
  assert.equal(body.otp.sent, 2);
  assert.deepEqual(body.funnel.telegram, { requested: 1, sent: 1, verified: 0 });
  assert.deepEqual(body.funnel.sms, { requested: 1, sent: 1, verified: 1 });
  assert.equal(body.channels.telegram.configured, true);
  assert.equal(body.channels.telegram.ok, true);
});

Deno.test("admin stats - instances on one KV count together", async () => {
  await using a = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  await using b = await startHarness({
    kv: a.ctx.kv,
    clock: a.clock,
    env: { ADMIN_PHONES: ADMIN },
  });
  const admin = await a.signIn(ADMIN);
  await b.signIn("+14155550101");
  for (const h of [a, b]) {
    const body = await stats(h, admin.access_token);
    assert.deepEqual(body.users, { total: 2, online: 2 });
    assert.equal(body.otp.verified, 2);
  }
});

Deno.test("admin stats - the cron job deletes counters older than two hours", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  await h.signIn("+14155550101");
  const prune = CRON_JOBS.find((job) => job.name === "counters prune")!;
  const tenOClock = keys.statMinute(Date.parse("2026-11-21T10:00:00.000Z"));
  const before = await countKeys(h.ctx.kv, tenOClock);
  assert.ok(before > 0);
  h.clock.advance(2 * 3_600_000);
  await prune.run(h.ctx);
  assert.equal(await countKeys(h.ctx.kv, tenOClock), before, "two hours are kept");

  h.clock.advance(60_000);
  const admin = await h.signIn(ADMIN);
  await prune.run(h.ctx);
  assert.equal(await countKeys(h.ctx.kv, tenOClock), 0);
  const now = keys.statMinute(Date.parse("2026-11-21T12:01:00.000Z"));
  assert.ok(await countKeys(h.ctx.kv, now) > 0, "the new minute stays");
  const body = await stats(h, admin.access_token);
  assert.equal(body.users.total, 2, "the user counter is no stat");
});

Deno.test("admin stats - 401 without a token, 403 FORBIDDEN for a user", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const user = await h.signIn("+14155550101");
  const anonymous = await h.get("/api/v1/admin/stats");
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const res = await h.get("/api/v1/admin/stats", { token: user.access_token });
  assert.equal(res.status, 403);
  assert.equal((await errorOf(res)).code, "FORBIDDEN");
});

Deno.test("admin stats - range=24h and 7d: hourly buckets with their start, online worked back per hour", async () => {
  await using h = await startHarness({
    env: {
      ADMIN_PHONES: ADMIN,
      PRESENCE_TIMEOUT_SECONDS: "3600",
      ACCESS_TOKEN_TTL_SECONDS: "86400",
    },
  });
  const beat = async (token: string) => {
    const res = await h.post("/api/v1/presence/heartbeat", {}, { token });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  };
  h.clock.advance(10_000); // 10:00:10
  const admin = await h.signIn(ADMIN);
  h.clock.advance(50 * 60_000); // 10:50:10
  await beat(admin.access_token);
  const first = await h.signIn("+14155550101");
  h.clock.advance(50 * 60_000); // 11:40:10
  await beat(admin.access_token);
  const logout = await h.post("/api/v1/auth/logout", {}, { token: first.access_token });
  assert.equal(logout.status, 204);
  const second = await h.signIn("+14155550102");
  h.clock.advance(30 * 60_000); // 12:10:10
  await beat(admin.access_token);
  await beat(second.access_token);

  const day = await stats(h, admin.access_token, "?range=24h");
  assert.equal(day.series.length, 24);
  assert.equal(day.series[0].at, "2026-11-20T13:00:00.000Z");
  assert.equal(day.series[23].at, "2026-11-21T12:00:00.000Z");
  assert.ok(day.series.every((b) => b.minute === b.at));
  const byHour = new Map(day.series.map((b) => [b.at.slice(11, 13), b]));
  assert.deepEqual(
    ["09", "10", "11", "12"].map((hh) => {
      const b = byHour.get(hh)!;
      return [hh, b.requested, b.verified, b.online];
    }),
    [["09", 0, 0, 0], ["10", 2, 2, 2], ["11", 1, 1, 2], ["12", 0, 0, 2]],
  );
  assert.deepEqual(day.otp, { requested: 3, sent: 3, verified: 3, failed: 0, rate_limited: 0 });
  assert.deepEqual(day.funnel, {
    sms: { requested: 3, sent: 3, verified: 3 },
    telegram: { requested: 0, sent: 0, verified: 0 },
    email: { requested: 0, sent: 0, verified: 0 },
  });
  assert.deepEqual(day.users, { total: 3, online: 2 });

  const week = await stats(h, admin.access_token, "?range=7d");
  assert.equal(week.series.length, 7 * 24);
  assert.equal(week.series.at(-1)!.at, "2026-11-21T12:00:00.000Z");
  assert.equal(week.series[0].at, "2026-11-14T13:00:00.000Z");
  assert.deepEqual(week.otp, day.otp);
  assert.deepEqual(week.funnel, day.funnel);

  const hour = await stats(h, admin.access_token, "?range=1h");
  assert.equal(hour.series.length, 60);
  assert.equal(hour.series.at(-1)!.at, "2026-11-21T12:10:00.000Z");
  assert.equal(hour.funnel.sms.requested, 1, "the last hour saw one sign-in");
  assert.deepEqual(await stats(h, admin.access_token), hour, "1h is the default");

  for (const bad of ["?range=30d", "?range=", "?other=1"]) {
    const res = await h.get(`/api/v1/admin/stats${bad}`, { token: admin.access_token });
    assert.equal(res.status, 400, bad);
    assert.equal((await errorOf(res)).code, "VALIDATION_FAILED");
  }
});

Deno.test("admin stats - the funnel counts each channel: requested, sent, verified", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  const admin = await h.signIn(ADMIN);
  await h.requestCode("+14155550101"); // sent, never used
  const email = await h.post("/api/v1/auth/otp/request", { email: "ada@example.com" });
  const verified = await h.post("/api/v1/auth/otp/verify", {
    request_id: (await email.json()).request_id,
    code: h.email.lastCode("ada@example.com"),
  });
  assert.equal(verified.status, 200);
  await verified.body?.cancel();
  h.sms.mode = { kind: "status", status: 500 };
  const failed = await h.post("/api/v1/auth/otp/request", { phone: "+14155550102" });
  assert.equal(failed.status, 503);
  await failed.body?.cancel();

  const body = await stats(h, admin.access_token);
  assert.deepEqual(body.funnel, {
    sms: { requested: 3, sent: 2, verified: 1 },
    telegram: { requested: 0, sent: 0, verified: 0 },
    email: { requested: 1, sent: 1, verified: 1 },
  });
});

Deno.test("admin stats - the cron job keeps hourly counters eight days", async () => {
  await using h = await startHarness({ env: { ADMIN_PHONES: ADMIN } });
  await h.signIn("+14155550101");
  const prune = CRON_JOBS.find((job) => job.name === "counters prune")!;
  const tenOClock = keys.statHourStart(Date.parse("2026-11-21T10:00:00.000Z"));
  const before = await countKeys(h.ctx.kv, tenOClock);
  assert.ok(before > 0);
  h.clock.advance(3 * 3_600_000);
  await prune.run(h.ctx);
  assert.equal(await countKeys(h.ctx.kv, tenOClock), before, "the hour outlives its minutes");
  const minute = keys.statMinute(Date.parse("2026-11-21T10:00:00.000Z"));
  assert.equal(await countKeys(h.ctx.kv, minute), 0, "its minutes are gone");

  h.clock.advance(8 * 86_400_000 - 3 * 3_600_000);
  await prune.run(h.ctx);
  assert.equal(await countKeys(h.ctx.kv, tenOClock), before, "eight days are kept");
  h.clock.advance(3_600_000);
  await prune.run(h.ctx);
  assert.equal(await countKeys(h.ctx.kv, tenOClock), 0);
});
