import assert from "node:assert/strict";
import { TEST_SECRET } from "../helpers.ts";
import {
  ADMIN,
  adminHarness,
  call,
  dashboardCookie,
  islandsOf,
  json,
} from "../routes/admin_helpers.ts";

/** The props of the page's islands, from its JSON block. */
async function pageOf(path: string, cookie: string, h: Parameters<typeof call>[0]) {
  const res = await h.app.request(path, { headers: { cookie } });
  assert.equal(res.status, 200, path);
  assert.match(res.headers.get("content-type")!, /^text\/html/);
  const html = await res.text();
  return { html, islands: islandsOf(html) };
}

Deno.test("dashboard - audit page: the newest entries with names; a stale cursor starts over", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  await json(
    await call(h, "PUT", "/api/v1/admin/settings", { token: admin.access_token }, {
      otp_length: 8,
    }),
  );
  const cookie = await dashboardCookie(h);
  const { html, islands: [island] } = await pageOf("/admin/audit", cookie, h);
  assert.equal(island.name, "AuditLog");
  const { initial, cursor } = island.props as {
    initial: { entries: { action: string; actor: { name: string } }[]; cursor: string | null };
    cursor?: string;
  };
  assert.equal(cursor, undefined);
  assert.deepEqual(
    initial.entries.map((e) => [e.action, e.actor.name]),
    [["settings.update", ADMIN]],
  );
  assert.match(html, /<a href="\/admin\/audit" aria-current="page">Audit<\/a>/);
  assert.match(html, /Changed settings/);

  const stale = await pageOf("/admin/audit?cursor=A", cookie, h);
  assert.equal(stale.islands[0].props.cursor, undefined);
  assert.equal((stale.islands[0].props.initial as { entries: unknown[] }).entries.length, 1);

  const away = await h.app.request("/admin/audit");
  assert.equal(away.status, 303);
  assert.equal(away.headers.get("location"), "/admin/login?next=%2Fadmin%2Faudit");
  await away.body?.cancel();
});

Deno.test("dashboard - settings page: defaults and overrides, and the boot configuration without secrets", async () => {
  await using h = await adminHarness({ OTP_LENGTH: "8", TELEGRAM_BOT_TOKEN: "123:bot-token" });
  const admin = await h.signIn(ADMIN);
  await json(
    await call(h, "PUT", "/api/v1/admin/settings", { token: admin.access_token }, {
      otp_ttl_seconds: 120,
    }),
  );
  const cookie = await dashboardCookie(h);
  const { html, islands: [island] } = await pageOf("/admin/settings", cookie, h);
  assert.equal(island.name, "SettingsForm");
  const props = island.props as {
    settings: Record<string, number>;
    specs: { name: string; default: number }[];
    overridden: string[];
  };
  assert.deepEqual(props.overridden, ["otp_ttl_seconds"]);
  assert.equal(props.settings.otp_ttl_seconds, 120);
  assert.equal(props.settings.otp_length, 8);
  const defaults = Object.fromEntries(props.specs.map((s) => [s.name, s.default]));
  assert.equal(defaults.otp_length, 8, "the environment's value is the default");
  assert.equal(defaults.otp_ttl_seconds, 300);
  assert.deepEqual(Object.keys(defaults), Object.keys(props.settings), "every setting");
  assert.match(html, /overridden<\/strong>, default 300 s/);
  assert.match(html, /Reset to default/);

  // The boot configuration: providers by name, admins masked, never a secret or a token.
  assert.match(html, /Boot configuration/);
  assert.match(html, /data-testid="boot-email"><span class="mono">webhook<\/span>/);
  assert.match(html, /o•••@example\.com/);
  for (const secret of [TEST_SECRET, "sms-hook-secret", "email-hook-secret", "bot-token"]) {
    assert.ok(!html.includes(secret), secret);
  }
});

Deno.test("dashboard - events page: older events below an event id, and whether there are more", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  for (let i = 0; i < 20; i++) await h.signIn(`+141555501${String(i).padStart(2, "0")}`);
  for (let i = 0; i < 50; i++) {
    const put = await call(h, "PUT", "/api/v1/admin/settings", { token: admin.access_token }, {
      otp_ttl_seconds: 100 + i,
    });
    await json(put);
  }
  const cookie = await dashboardCookie(h);
  type Props = { initial: { id: string }[]; before?: string; older: boolean };
  const first = (await pageOf("/admin/events", cookie, h)).islands[0].props as Props;
  assert.equal(first.initial.length, 100);
  assert.equal(first.older, true);
  assert.equal(first.before, undefined);
  const last = first.initial[99].id;
  const next = (await pageOf(`/admin/events?before=${last}`, cookie, h)).islands[0].props as Props;
  assert.equal(next.before, last);
  assert.ok(next.initial.length > 0);
  assert.ok(next.initial.every((e) => e.id < last), "only older events");
  const odd = (await pageOf("/admin/events?before=../x", cookie, h)).islands[0].props as Props;
  assert.equal(odd.before, undefined, "what is no event id is left out");
  assert.deepEqual(odd.initial.map((e) => e.id), first.initial.map((e) => e.id).slice(0, 100));
});
