import assert from "node:assert/strict";
import { isSameOrigin } from "../../web/security.ts";
import { startHarness } from "../helpers.ts";
import { ADMIN_EMAIL as ADMIN, dashboardSignIn, form, islandsOf } from "../routes/admin_helpers.ts";

Deno.test("dashboard - pages need a session: /admin redirects to the sign-in page", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN } });
  const res = await h.app.request("/admin/users");
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/admin/login?next=%2Fadmin%2Fusers");
  const login = await h.app.request("/admin/login");
  assert.equal(login.status, 200);
  const html = await login.text();
  assert.doesNotMatch(html, /<script/, "the sign-in page ships no JavaScript");
});

/** The props of the page's islands, from its JSON block. */
Deno.test("dashboard - deliveries page: filters come from the query, anything else is left out", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN } });
  const { cookie } = await dashboardSignIn(h);
  await h.signIn("+14155550100");
  const get = async (query: string) => {
    const res = await h.app.request(`/admin/deliveries${query}`, { headers: { cookie } });
    assert.equal(res.status, 200, query);
    assert.match(res.headers.get("content-type")!, /^text\/html/);
    const [island] = islandsOf(await res.text());
    assert.equal(island.name, "DeliveryLog");
    return island.props as {
      filters: Record<string, string>;
      initial: { deliveries: { channel: string }[] };
    };
  };
  const sms = await get("?channel=sms&status=sent");
  assert.deepEqual(sms.filters, { channel: "sms", status: "sent" });
  assert.deepEqual(sms.initial.deliveries.map((d) => d.channel), ["sms"]);
  const odd = await get("?channel=fax&status=lost&limit=9");
  assert.deepEqual(odd.filters, {});
  assert.equal(odd.initial.deliveries.length, 2, "the admin's email and the phone's SMS");
  // A cursor this list never gave out: the page starts from the newest instead of failing.
  const stale = await get("?channel=email&cursor=A");
  assert.deepEqual(stale.filters, { channel: "email" });
  assert.equal(stale.initial.deliveries.length, 1);
});

Deno.test("dashboard - fraud page: the protection in force, and what would block a range", async () => {
  await using h = await startHarness({
    env: { ADMIN_EMAILS: ADMIN, SMS_ALLOWED_COUNTRIES: "US,CA", SMS_DAILY_LIMIT: "500" },
  });
  const { cookie } = await dashboardSignIn(h);
  const res = await h.app.request("/admin/fraud", { headers: { cookie } });
  assert.equal(res.status, 200);
  const html = await res.text();
  const [island] = islandsOf(html);
  assert.equal(island.name, "FraudPanel");
  assert.deepEqual(island.props.rules, {
    autoblock: true,
    minSent: 10,
    minUsedPercent: 20,
    prefixLimitPerHour: 30,
    allowedCountries: ["US", "CA"],
  });
  assert.match(html, /at least 10 SMS and fewer than 20 % of their codes were used/);
  assert.match(html, /<meter[^>]* max="500"/);
  const away = await h.app.request("/admin/fraud?x=1");
  assert.equal(away.status, 303);
  assert.equal(away.headers.get("location"), "/admin/login?next=%2Fadmin%2Ffraud%3Fx%3D1");
  await away.body?.cancel();
});

Deno.test("dashboard - an admin signs in with a code and gets a strict session cookie", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN } });
  const { cookie, res } = await dashboardSignIn(h);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/admin");
  const setCookie = res.headers.get("set-cookie")!;
  assert.match(
    setCookie,
    /^doorman_session=[\w-]{43}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/,
  );

  const overview = await h.app.request("/admin", { headers: { cookie } });
  assert.equal(overview.status, 200);
  const html = await overview.text();
  assert.match(html, /<doorman-island data-island="LiveOverview" data-index="0">/);
  const csp = overview.headers.get("content-security-policy")!;
  const nonce = csp.match(/'nonce-([^']+)'/)![1];
  assert.match(
    html,
    new RegExp(
      `<script type="module" src="/static/build/islands.test.js" nonce="${
        nonce.replace(/[+/=]/g, "\\$&")
      }">`,
    ),
  );
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /default-src 'self'/);
  assert.equal(overview.headers.get("x-content-type-options"), "nosniff");
  assert.equal(overview.headers.get("x-frame-options"), "DENY");
  assert.ok(overview.headers.get("referrer-policy"));

  const api = await h.app.request("/api/v1/admin/users", { headers: { cookie } });
  assert.equal(api.status, 200, "the cookie works for the admin API too");
  await api.body?.cancel();
});

Deno.test("dashboard - with an https PUBLIC_URL the cookie is __Host- and Secure", async () => {
  await using h = await startHarness({
    env: { ADMIN_EMAILS: ADMIN, PUBLIC_URL: "https://doorman.example.com" },
  });
  const { res } = await dashboardSignIn(h);
  assert.match(res.headers.get("set-cookie")!, /^__Host-doorman_session=.*; Secure$/);
});

Deno.test("dashboard - a non-admin is refused and their sign-in ends", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN } });
  const { cookie, res } = await dashboardSignIn(h, "someone@example.com");
  assert.equal(res.status, 403);
  assert.match(await res.text(), /Admins only/);
  assert.equal(cookie, "");
});

Deno.test("dashboard - a wrong code shows the form again with the message", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN } });
  const step1 = await h.app.request("/admin/login", form({ recipient: ADMIN }));
  const requestId = (await step1.text()).match(/name="request_id" value="([^"]+)"/)![1];
  const wrong = h.email.lastCode(ADMIN) === "000000" ? "111111" : "000000";
  const res = await h.app.request(
    "/admin/login/verify",
    form({ request_id: requestId, code: wrong }),
  );
  assert.equal(res.status, 400);
  assert.match(await res.text(), /The code is not correct\. 4 attempts left\./);
  const bad = await h.app.request("/admin/login", form({ recipient: "not a phone" }));
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /Enter a phone number/);
});

Deno.test("dashboard - cross-site requests are refused (CSRF)", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN } });
  const { cookie } = await dashboardSignIn(h);
  const user = await h.signIn("+14155550100");
  const patch = (headers: Record<string, string>) =>
    h.app.request(`/api/v1/admin/users/${user.user.id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", cookie, ...headers },
      body: JSON.stringify({ status: "banned" }),
    });
  for (
    const headers of [
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "https://evil.example" },
      {},
    ] as Record<string, string>[]
  ) {
    const res = await patch(headers);
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal((await res.json()).error.code, "FORBIDDEN");
  }
  const loginCsrf = await h.app.request("/admin/login", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "sec-fetch-site": "cross-site",
    },
    body: "recipient=ops%40example.com",
  });
  assert.equal(loginCsrf.status, 403);
  await loginCsrf.body?.cancel();
  const logoutCsrf = await h.app.request("/admin/logout", {
    method: "POST",
    headers: { cookie, origin: "https://evil.example" },
  });
  assert.equal(logoutCsrf.status, 403);
  await logoutCsrf.body?.cancel();

  const same = await patch({ "sec-fetch-site": "same-origin" });
  assert.equal(same.status, 200);
  assert.equal((await same.json()).user.status, "banned");
  const origin = await patch({ origin: "http://localhost" });
  assert.equal(origin.status, 200, "an Origin equal to our own passes");
  await origin.body?.cancel();
});

Deno.test("isSameOrigin() - trusts Sec-Fetch-Site first, then Origin", () => {
  const own = ["http://localhost:8000"];
  const check = (headers: Record<string, string>) => isSameOrigin(new Headers(headers), own);
  assert.equal(check({ "sec-fetch-site": "same-origin" }), true);
  assert.equal(check({ "sec-fetch-site": "none" }), true);
  assert.equal(check({ "sec-fetch-site": "cross-site", origin: "http://localhost:8000" }), false);
  assert.equal(check({ origin: "http://localhost:8000" }), true);
  assert.equal(check({ origin: "http://localhost:8001" }), false);
  assert.equal(check({ origin: "null" }), false);
  assert.equal(check({}), false);
});

Deno.test("dashboard - signing out ends the session and its sign-in", async () => {
  await using h = await startHarness({ env: { ADMIN_EMAILS: ADMIN } });
  const { cookie } = await dashboardSignIn(h);
  const out = await h.app.request("/admin/logout", {
    method: "POST",
    headers: { cookie, "sec-fetch-site": "same-origin" },
  });
  assert.equal(out.status, 303);
  assert.match(out.headers.get("set-cookie")!, /doorman_session=; Max-Age=0/);
  const after = await h.app.request("/api/v1/admin/users", { headers: { cookie } });
  assert.equal(after.status, 401);
  await after.body?.cancel();
  const page = await h.app.request("/admin", { headers: { cookie } });
  assert.equal(page.status, 303);
});

Deno.test("dashboard - static files: hashed bundles are immutable, paths are checked", async () => {
  await using h = await startHarness();
  const css = await h.app.request("/static/admin.css?v=abc");
  assert.equal(css.status, 200);
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  assert.match(css.headers.get("cache-control")!, /immutable/);
  await css.body?.cancel();
  for (
    const path of [
      "/static/../deno.json",
      "/static/%2e%2e/deno.json",
      "/static/.env",
      "/static/x.ts",
    ]
  ) {
    const res = await h.app.request(path);
    assert.equal(res.status, 404, path);
    await res.body?.cancel();
  }
});
