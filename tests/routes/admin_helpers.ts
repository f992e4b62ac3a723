import assert from "node:assert/strict";
import { type Harness, startHarness } from "../helpers.ts";

/** The admin phone of these tests (a bootstrap admin). */
export const ADMIN = "+14155550000";
/** The admin email that signs in on the dashboard. */
export const ADMIN_EMAIL = "ops@example.com";
/** The client IP admin calls come from. */
export const ADMIN_IP = "198.51.100.9";

/** A harness with `ADMIN` and `ADMIN_EMAIL` as bootstrap admins. */
export function adminHarness(env: Record<string, string> = {}): Promise<Harness> {
  return startHarness({ env: { ADMIN_PHONES: ADMIN, ADMIN_EMAILS: ADMIN_EMAIL, ...env } });
}

/** Who calls: a Bearer token, or the dashboard cookie with extra headers (CSRF tests). */
export type Credentials = { token?: string; cookie?: string; headers?: Record<string, string> };

/** Calls the app from `ADMIN_IP` with any method; a non-string body is sent as JSON. */
export async function call(
  h: Harness,
  method: string,
  path: string,
  who: Credentials = {},
  body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = { ...who.headers };
  if (who.token) headers.authorization = `Bearer ${who.token}`;
  if (who.cookie) headers.cookie = who.cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  return await h.app.request(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  }, { remoteAddr: { transport: "tcp", hostname: ADMIN_IP, port: 50000 } });
}

/** Asserts a JSON answer with `status` and returns its body. */
export async function json(res: Response, status = 200): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return JSON.parse(text);
}

/** Asserts an error answer with `status` and `code`. */
export async function failsWith(res: Response, status: number, code: string): Promise<void> {
  const body = await json(res, status);
  assert.equal((body.error as { code: string }).code, code);
}

/** A POST of one of the dashboard's sign-in forms, from the dashboard itself. */
export function form(fields: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "sec-fetch-site": "same-origin",
    },
    body: new URLSearchParams(fields),
  };
}

/**
 * Signs `email` in on the dashboard's forms with the code it was emailed: the verify answer
 * (body unread) and the session cookie it set (`name=value`, empty if none).
 */
export async function dashboardSignIn(
  h: Harness,
  email = ADMIN_EMAIL,
): Promise<{ cookie: string; res: Response }> {
  h.clock.advance(61_000);
  const step1 = await h.app.request("/admin/login", form({ recipient: email }));
  assert.equal(step1.status, 200);
  const requestId = (await step1.text()).match(/name="request_id" value="([^"]+)"/)![1];
  const res = await h.app.request(
    "/admin/login/verify",
    form({
      request_id: requestId,
      code: h.email.lastCode(email)!,
      sent_to: email,
      channel: "email",
    }),
  );
  return { cookie: (res.headers.get("set-cookie") ?? "").split(";")[0], res };
}

/** Signs `ADMIN_EMAIL` in on the dashboard's forms; returns the session cookie (`name=value`). */
export async function dashboardCookie(h: Harness): Promise<string> {
  const { cookie, res } = await dashboardSignIn(h);
  await res.body?.cancel();
  assert.ok(cookie, "the dashboard sign-in set a cookie");
  return cookie;
}

/**
 * Asserts that a state-changing admin call with the dashboard cookie is refused from another
 * site (403 `FORBIDDEN`, before anything changes) and that nobody signed out gets in (401).
 */
export async function assertCsrfGuarded(
  h: Harness,
  request: { method: string; path: string; body?: unknown },
): Promise<void> {
  const cookie = await dashboardCookie(h);
  for (
    const headers of [
      { "sec-fetch-site": "cross-site" },
      { origin: "https://evil.example" },
      {},
    ] as Record<string, string>[]
  ) {
    const res = await call(h, request.method, request.path, { cookie, headers }, request.body);
    await failsWith(res, 403, "FORBIDDEN");
  }
  const anonymous = await call(h, request.method, request.path, {}, request.body);
  await failsWith(anonymous, 401, "UNAUTHORIZED");
}

/** The islands a dashboard page renders, with their props (none when it has no islands). */
export function islandsOf(html: string): { name: string; props: Record<string, unknown> }[] {
  const json = html.match(/<script type="application\/json" id="__islands"[^>]*>(.*?)<\/script>/s);
  return json ? JSON.parse(json[1]) : [];
}
