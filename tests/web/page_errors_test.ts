import assert from "node:assert/strict";
import { adminHarness, dashboardCookie, form } from "../routes/admin_helpers.ts";

/** Every dashboard page behind the admin guard, and an unknown one. */
const GUARDED = [
  "/admin",
  "/admin/users?status=online",
  "/admin/users/usr_01M7YRRT8000SF59MQA2HP4QA7",
  "/admin/events",
  "/admin/audit",
  "/admin/deliveries",
  "/admin/fraud",
  "/admin/settings",
  "/admin/no-such-page",
];

Deno.test("dashboard pages - one guard for every page: without a session each goes to sign-in and back; sign-in itself is open", async () => {
  await using h = await adminHarness();
  for (const path of GUARDED) {
    const res = await h.app.request(path);
    assert.equal(res.status, 303, path);
    assert.equal(res.headers.get("location"), `/admin/login?next=${encodeURIComponent(path)}`);
  }
  const stale = await h.app.request("/admin/users", {
    headers: { cookie: `doorman_session=${"A".repeat(43)}` },
  });
  assert.equal(stale.status, 303, "a session that no longer works");
  assert.equal(stale.headers.get("location"), "/admin/login");
  assert.match(stale.headers.get("set-cookie")!, /^doorman_session=; Max-Age=0/);
  const login = await h.app.request("/admin/login");
  assert.equal(login.status, 200);
  assert.match(login.headers.get("content-type")!, /^text\/html/);
});

Deno.test("dashboard pages - an unknown page is a 404 HTML page in the frame, with the way back", async () => {
  await using h = await adminHarness();
  const cookie = await dashboardCookie(h);
  const res = await h.app.request("/admin/no-such-page", { headers: { cookie } });
  assert.equal(res.status, 404);
  assert.match(res.headers.get("content-type")!, /^text\/html/);
  assert.match(res.headers.get("content-security-policy")!, /frame-ancestors 'none'/);
  const html = await res.text();
  assert.match(html, /<h1>Page not found<\/h1>/);
  assert.match(html, /No page at \/admin\/no-such-page\./);
  assert.match(html, /<a href="\/admin">Back to Overview<\/a>/);
  assert.match(html, /title="Signed in as">ops@example.com</, "inside the frame");
});

Deno.test("dashboard pages - a page that fails answers a 500 HTML page with its request id, logged; the API stays JSON", async () => {
  await using h = await adminHarness();
  const cookie = await dashboardCookie(h);
  const list = h.ctx.kv.list.bind(h.ctx.kv);
  // The events page reads the event log with list(); the guard does not.
  h.ctx.kv.list = () => {
    throw new Error("disk on fire");
  };
  try {
    const res = await h.app.request("/admin/events", { headers: { cookie } });
    assert.equal(res.status, 500);
    assert.match(res.headers.get("content-type")!, /^text\/html/);
    const html = await res.text();
    assert.match(html, /<h1>Something went wrong<\/h1>/);
    assert.doesNotMatch(html, /disk on fire/, "the cause stays in the log");
    const requestId = res.headers.get("x-request-id")!;
    assert.match(html, new RegExp(`Request id <span class="mono">${requestId}</span>`));
    const logged = h.log.lines.find((line) => line.includes("unhandled error"))!;
    assert.match(logged, /disk on fire/);
    assert.ok(logged.includes(requestId));
  } finally {
    h.ctx.kv.list = list;
  }
  const api = await h.app.request("/api/v1/admin/users/usr_01M7YRRT8000SF59MQA2HP4QA7", {
    headers: { cookie },
  });
  assert.equal(api.status, 404);
  assert.match(api.headers.get("content-type")!, /^application\/json/);
  assert.equal((await api.json()).error.code, "NOT_FOUND");
});

Deno.test("dashboard pages - a refused sign-in form from another site is a 403 HTML page, not JSON", async () => {
  await using h = await adminHarness();
  const init = form({ recipient: "ops@example.com" });
  const res = await h.app.request("/admin/login", {
    ...init,
    headers: { ...init.headers as Record<string, string>, "sec-fetch-site": "cross-site" },
  });
  assert.equal(res.status, 403);
  assert.match(res.headers.get("content-type")!, /^text\/html/);
  const html = await res.text();
  assert.match(html, /<h1>Not allowed<\/h1>/);
  assert.match(html, /Cross-site request refused\./);
});
