import assert from "node:assert/strict";
import { CRON_JOBS } from "../../core/jobs/cron.ts";
import { keys } from "../../kv/keys.ts";
import { type Harness, recordEvents, startHarness } from "../helpers.ts";
import { ADMIN, adminHarness, call, failsWith, json } from "./admin_helpers.ts";

const USER = "+14155550101";
/** The fake clock's start, 2026-11-21T10:00:00Z, and moments after it. */
const START = Date.parse("2026-11-21T10:00:00.000Z");
const TEN_MINUTES = 600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const sweep = CRON_JOBS.find((job) => job.name === "suspension ends")!;

interface AdminUserBody {
  user: { id: string; status: string; role: string; suspended_until: string | null };
}

/** Moves the fake clock on to `at` (ms). */
function moveTo(h: Harness, at: number): void {
  h.clock.advance(at - h.clock.now());
}

function patch(h: Harness, id: string, body: unknown, token: string): Promise<Response> {
  return call(h, "PATCH", `/api/v1/admin/users/${id}`, { token }, body);
}

async function patched(h: Harness, id: string, body: unknown, token: string) {
  return (await json(await patch(h, id, body, token))) as unknown as AdminUserBody;
}

async function detail(h: Harness, id: string, token: string) {
  return (await json(
    await call(h, "GET", `/api/v1/admin/users/${id}`, { token }),
  )) as unknown as AdminUserBody;
}

/** Requests a code for `phone` (past the resend cooldown) and verifies it: the response. */
async function trySignIn(h: Harness, phone: string): Promise<Response> {
  h.clock.advance(61_000);
  const { requestId, code } = await h.requestCode(phone);
  return await h.post("/api/v1/auth/otp/verify", { request_id: requestId, code });
}

async function auditEntries(h: Harness, token: string) {
  const body = await json(await call(h, "GET", "/api/v1/admin/audit", { token }));
  return body.entries as {
    actor: { user_id: string; ip: string };
    action: string;
    target: string;
    changes: Record<string, { from: unknown; to: unknown }>;
  }[];
}

async function dueEntries(kv: Deno.Kv): Promise<Deno.KvKey[]> {
  const out: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix: keys.suspensionEnds() })) out.push(entry.key);
  return out;
}

Deno.test("admin suspension - suspended_until is validated: a date-time ahead, ≤ 366 days, only with suspended", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn(USER);
  const ahead = iso(START + TEN_MINUTES);
  for (
    const body of [
      { suspended_until: ahead },
      { status: "banned", suspended_until: ahead },
      { status: "active", suspended_until: ahead },
      { role: "admin", suspended_until: ahead },
      { status: "suspended", suspended_until: "tomorrow" },
      { status: "suspended", suspended_until: "2026-11-22" },
      { status: "suspended", suspended_until: START + TEN_MINUTES },
      { status: "suspended", suspended_until: null },
      { status: "suspended", suspended_until: iso(START - 1000) },
      { status: "suspended", suspended_until: iso(START) },
      { status: "suspended", suspended_until: iso(START + 367 * 86_400_000) },
    ]
  ) {
    const res = await patch(h, user.user.id, body, admin.access_token);
    const error = (await json(res, 400)).error as { code: string; details: { path: string }[] };
    assert.equal(error.code, "VALIDATION_FAILED", JSON.stringify(body));
    assert.ok(error.details.some((d) => d.path === "suspended_until"), JSON.stringify(body));
  }
  assert.equal((await detail(h, user.user.id, admin.access_token)).user.status, "active");
  // The limit itself is allowed: 366 days ahead.
  const limit = await patched(h, user.user.id, {
    status: "suspended",
    suspended_until: iso(START + 366 * 86_400_000),
  }, admin.access_token);
  assert.equal(limit.user.suspended_until, "2027-11-22T10:00:00.000Z");
});

Deno.test("admin suspension - suspended_until round-trips, in UTC; a role change keeps it; audited", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn(USER);
  assert.equal((await detail(h, user.user.id, admin.access_token)).user.suspended_until, null);

  const body = await patched(h, user.user.id, {
    status: "suspended",
    suspended_until: "2026-11-21T12:30:00+02:00",
  }, admin.access_token);
  assert.equal(body.user.status, "suspended");
  assert.equal(body.user.suspended_until, "2026-11-21T10:30:00.000Z");
  assert.equal(
    (await detail(h, user.user.id, admin.access_token)).user.suspended_until,
    "2026-11-21T10:30:00.000Z",
  );
  const list = await json(
    await call(h, "GET", "/api/v1/admin/users", {
      token: admin.access_token,
    }),
  );
  const row = (list.users as AdminUserBody["user"][]).find((u) => u.id === user.user.id)!;
  assert.equal(row.suspended_until, "2026-11-21T10:30:00.000Z");

  const promoted = await patched(h, user.user.id, { role: "admin" }, admin.access_token);
  assert.equal(promoted.user.suspended_until, "2026-11-21T10:30:00.000Z");

  const [roleChange, suspension] = await auditEntries(h, admin.access_token);
  assert.deepEqual(roleChange.changes, { role: { from: "user", to: "admin" } });
  assert.deepEqual(suspension.changes, {
    status: { from: "active", to: "suspended" },
    suspended_until: { from: null, to: "2026-11-21T10:30:00.000Z" },
  });
  assert.equal(suspension.actor.user_id, admin.user.id);
});

Deno.test("admin suspension - sign-in is refused before the end and allowed after it, lifting it exactly", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn(USER);
  const until = START + TEN_MINUTES;
  await patched(
    h,
    user.user.id,
    { status: "suspended", suspended_until: iso(until) },
    admin.access_token,
  );

  // 61 s before the end (trySignIn moves the clock 61 s on first).
  moveTo(h, until - 122_000);
  await failsWith(await trySignIn(h, USER), 403, "ACCOUNT_DISABLED");
  assert.equal(h.clock.now(), until - 61_000);

  const events = recordEvents(h);
  moveTo(h, until - 61_000);
  const res = await trySignIn(h, USER);
  assert.equal(h.clock.now(), until, "the very moment it ends");
  const signedIn = await json(res) as { user: { status: string }; access_token: string };
  assert.equal(signedIn.user.status, "active");
  assert.equal((await h.get("/api/v1/me", { token: signedIn.access_token })).status, 200);

  const after = await detail(h, user.user.id, admin.access_token);
  assert.equal(after.user.status, "active");
  assert.equal(after.user.suspended_until, null);
  assert.deepEqual(await dueEntries(h.ctx.kv), [], "its index entry went in the same commit");
  const [lifted] = await auditEntries(h, admin.access_token);
  assert.equal(lifted.actor.user_id, "system");
  assert.equal(lifted.actor.ip, "");
  assert.equal(lifted.target, user.user.id);
  assert.deepEqual(lifted.changes, {
    status: { from: "suspended", to: "active" },
    suspended_until: { from: iso(until), to: null },
  });
  const updated = events.find((e) => e.type === "user.updated")!;
  assert.equal(updated.status, "active");
  assert.equal(updated.previous_status, "suspended");
  assert.equal(updated.reason, "suspension_ended");
  await sweep.run(h.ctx);
  const entries = await auditEntries(h, admin.access_token);
  assert.equal(entries.length, 2, "the sweep finds nothing left to do");
});

Deno.test("admin suspension - the cron sweep lifts due suspensions only, once, on instances sweeping at once", async () => {
  await using a = await adminHarness();
  await using b = await startHarness({
    kv: a.ctx.kv,
    clock: a.clock,
    env: { ADMIN_PHONES: ADMIN },
  });
  const admin = await a.signIn(ADMIN);
  const soon = await a.signIn(USER);
  const later = await a.signIn("+14155550102");
  const open = await a.signIn("+14155550103");
  await patched(a, soon.user.id, {
    status: "suspended",
    suspended_until: iso(START + TEN_MINUTES),
  }, admin.access_token);
  await patched(a, later.user.id, {
    status: "suspended",
    suspended_until: iso(START + 3 * TEN_MINUTES),
  }, admin.access_token);
  await patched(a, open.user.id, { status: "suspended" }, admin.access_token);
  assert.equal((await dueEntries(a.ctx.kv)).length, 2, "a suspension without an end has none");

  await sweep.run(a.ctx);
  assert.equal((await detail(a, soon.user.id, admin.access_token)).user.status, "suspended");

  moveTo(a, START + TEN_MINUTES);
  // Either instance may be the one that lifts it: count what each published itself.
  const lifts: string[] = [];
  for (const h of [a, b]) {
    h.ctx.bus.subscribe((event) => {
      if (event.instance === h.ctx.bus.instance && event.data.type === "user.updated") {
        lifts.push(event.instance);
      }
    });
  }
  await Promise.all([sweep.run(a.ctx), sweep.run(b.ctx), sweep.run(a.ctx)]);
  const lifted = await detail(a, soon.user.id, admin.access_token);
  assert.equal(lifted.user.status, "active");
  assert.equal(lifted.user.suspended_until, null);
  assert.equal((await detail(a, later.user.id, admin.access_token)).user.status, "suspended");
  assert.equal((await detail(a, open.user.id, admin.access_token)).user.status, "suspended");
  const system = (await auditEntries(a, admin.access_token))
    .filter((e) => e.actor.user_id === "system");
  assert.equal(system.length, 1, "lifted once");
  assert.equal(system[0].target, soon.user.id);
  assert.equal(lifts.length, 1, "one user.updated, from whichever instance lifted it");
  assert.deepEqual(await dueEntries(a.ctx.kv), [
    keys.suspensionEnd(START + 3 * TEN_MINUTES, later.user.id),
  ]);
  // Lifted, the user signs in again.
  assert.equal((await trySignIn(a, USER)).status, 200);
});

Deno.test("admin suspension - any other status change clears the end; a new suspension replaces it", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn(USER);
  const id = user.user.id;
  const until = iso(START + TEN_MINUTES);

  await patched(h, id, { status: "suspended", suspended_until: until }, admin.access_token);
  const banned = await patched(h, id, { status: "banned" }, admin.access_token);
  assert.equal(banned.user.suspended_until, null);
  assert.deepEqual(await dueEntries(h.ctx.kv), []);

  await patched(h, id, { status: "suspended", suspended_until: until }, admin.access_token);
  const later = iso(START + 2 * TEN_MINUTES);
  await patched(h, id, { status: "suspended", suspended_until: later }, admin.access_token);
  assert.deepEqual(await dueEntries(h.ctx.kv), [keys.suspensionEnd(Date.parse(later), id)]);
  const indefinite = await patched(h, id, { status: "suspended" }, admin.access_token);
  assert.equal(indefinite.user.suspended_until, null, "suspended again without an end: none");
  assert.deepEqual(await dueEntries(h.ctx.kv), []);

  await patched(h, id, { status: "suspended", suspended_until: until }, admin.access_token);
  const active = await patched(h, id, { status: "active" }, admin.access_token);
  assert.equal(active.user.suspended_until, null);

  moveTo(h, START + 3 * TEN_MINUTES);
  await sweep.run(h.ctx);
  await patched(h, id, { status: "inactive" }, (await h.signIn(ADMIN)).access_token);
  await failsWith(await trySignIn(h, USER), 403, "ACCOUNT_DISABLED");
});
