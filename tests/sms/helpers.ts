import assert from "node:assert/strict";
import type { LiveEvent } from "../../core/live/events.ts";
import type { Harness } from "../helpers.ts";

/** The admin of the SMS tests signs in by email, so no SMS of theirs counts against a range. */
export const ADMIN_EMAIL = "admin@example.com";

/** A delivery log entry as `GET /api/v1/admin/deliveries` shows it. */
export interface DeliveryJson {
  id: string;
  at: string;
  request_id: string | null;
  channel: string;
  provider: string;
  to: string;
  country: string | null;
  status: string;
  provider_id: string | null;
  latency_ms: number | null;
  error: string | null;
  updated_at: string | null;
  test?: true;
}

/** Sends a request to the harness's app from `ip`, as the socket would say. */
export function send(
  h: Harness,
  path: string,
  init: RequestInit & { ip?: string } = {},
): Promise<Response> {
  const { ip = "203.0.113.7", ...rest } = init;
  return Promise.resolve(
    h.app.request(path, rest, { remoteAddr: { transport: "tcp", hostname: ip, port: 50000 } }),
  );
}

/** `POST /api/v1/auth/otp/request` with extra headers (e.g. `Accept-Language`). */
export function requestOtp(
  h: Harness,
  body: Record<string, unknown>,
  options: { ip?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return send(h, "/api/v1/auth/otp/request", {
    method: "POST",
    headers: { "content-type": "application/json", ...options.headers },
    body: JSON.stringify(body),
    ip: options.ip,
  });
}

/** Signs in by email (the code the fake mailbox got) and returns the access token and user id. */
export async function signInByEmail(
  h: Harness,
  email: string,
  ip = "198.51.100.1",
): Promise<{ token: string; userId: string }> {
  const res = await requestOtp(h, { email }, { ip });
  assert.equal(res.status, 202, await res.clone().text());
  const { request_id } = await res.json();
  const code = h.email.lastCode(email);
  assert.ok(code, `no code reached ${email}`);
  const verified = await h.post("/api/v1/auth/otp/verify", { request_id, code }, { ip });
  assert.equal(verified.status, 200);
  const body = await verified.json();
  return { token: body.access_token, userId: body.user.id };
}

/** Reads the delivery log through the admin API; `query` is the query string without `?`. */
export async function deliveries(
  h: Harness,
  token: string,
  query = "",
): Promise<{ deliveries: DeliveryJson[]; cursor: string | null; raw: string }> {
  const res = await h.get(`/api/v1/admin/deliveries${query ? `?${query}` : ""}`, { token });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const raw = await res.text();
  return { ...JSON.parse(raw), raw };
}

/** Every live event from now on, with its kind (the SSE event name). */
export function recordLiveEvents(h: Harness): LiveEvent[] {
  const events: LiveEvent[] = [];
  h.ctx.bus.subscribe((event) => events.push(event));
  return events;
}

/** The events of one type, as their data. */
export function eventsOf(events: LiveEvent[], type: string): Record<string, unknown>[] {
  return events.filter((event) => event.data.type === type).map((event) => event.data);
}
