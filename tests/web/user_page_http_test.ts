import assert from "node:assert/strict";
import type { Harness } from "../helpers.ts";
import { ADMIN, adminHarness, dashboardCookie, form, islandsOf } from "../routes/admin_helpers.ts";

/** The props of the page's islands, from its JSON block. */
async function open(h: Harness, path: string, cookie: string) {
  const res = await h.app.request(path, { headers: { cookie } });
  return { status: res.status, html: await res.text() };
}

Deno.test("user page - the user with their sign-ins, under Users: breadcrumb and nav", async () => {
  await using h = await adminHarness();
  const user = await h.signIn("+14155550101");
  const cookie = await dashboardCookie(h);
  const { status, html } = await open(h, `/admin/users/${user.user.id}`, cookie);
  assert.equal(status, 200);
  assert.match(html, /<title>[^<]*\+14155550101/);
  assert.match(
    html,
    /<nav aria-label="Breadcrumb"><ol class="crumbs"><li><a href="\/admin\/users">Users<\/a>/,
  );
  assert.match(html, /<a href="\/admin\/users" aria-current="page">Users<\/a>/);
  const [island] = islandsOf(html);
  assert.equal(island.name, "UserDetail");
  const initial = island.props.initial as { user: { id: string }; sessions: unknown[] };
  assert.equal(initial.user.id, user.user.id);
  assert.equal(initial.sessions.length, 1);
});

Deno.test("user page - an unknown or malformed id: 404 inside the frame, with the way back", async () => {
  await using h = await adminHarness();
  const cookie = await dashboardCookie(h);
  for (const id of ["usr_01M7YRRT8000SF59MQA2HP4QA7", "not.an.id", "x".repeat(65)]) {
    const { status, html } = await open(h, `/admin/users/${id}`, cookie);
    assert.equal(status, 404, id);
    assert.match(html, /<h1>No such user<\/h1>/);
    assert.match(html, /<a href="\/admin\/users">Back to Users<\/a>/);
    assert.match(html, /aria-current="page">Users</, "the nav still says Users");
    assert.deepEqual(islandsOf(html), []);
  }
});

Deno.test("users page - filter, search and page come from the query; a bad cursor starts over", async () => {
  await using h = await adminHarness();
  for (let i = 1; i <= 3; i++) await h.signIn(`+1415555010${i}`);
  const cookie = await dashboardCookie(h);
  const propsOf = async (query: string) => {
    const { status, html } = await open(h, `/admin/users${query}`, cookie);
    assert.equal(status, 200, query);
    return islandsOf(html)[0].props as {
      filters: Record<string, string>;
      initial: { users: { phone: string | null }[]; total: number; cursor: string | null };
    };
  };

  const searched = await propsOf("?status=online&q=%2B14155550102");
  assert.deepEqual(searched.filters, { status: "online", q: "+14155550102" });
  assert.deepEqual(searched.initial.users.map((u) => u.phone), ["+14155550102"]);
  assert.equal(searched.initial.total, 4);

  assert.deepEqual((await propsOf("?status=everyone&q=%20%20")).filters, {});
  const garbage = await propsOf("?cursor=AAAAnotacursor");
  assert.deepEqual(garbage.filters, {}, "the cursor no list gave out is dropped");
  assert.equal(garbage.initial.users.length, 4);
  assert.deepEqual((await propsOf("?cursor=%3Cscript%3E")).filters, {});
});

Deno.test("user page - signing in from a user page's link comes back to it", async () => {
  await using h = await adminHarness();
  const user = await h.signIn("+14155550101");
  const path = `/admin/users/${user.user.id}`;
  const res = await h.app.request(path);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), `/admin/login?next=${encodeURIComponent(path)}`);

  h.clock.advance(61_000);
  const step1 = await h.app.request("/admin/login", form({ recipient: ADMIN }));
  const requestId = (await step1.text()).match(/name="request_id" value="([^"]+)"/)![1];
  const verified = await h.app.request(
    `/admin/login/verify?next=${encodeURIComponent(path)}`,
    form({ request_id: requestId, code: h.sms.lastCode(ADMIN)!, sent_to: ADMIN }),
  );
  await verified.body?.cancel();
  assert.equal(verified.status, 303);
  assert.equal(verified.headers.get("location"), path);
});
