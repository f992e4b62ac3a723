import assert from "node:assert/strict";
import type { Harness } from "../helpers.ts";

/** A signed-in user of a harness: their id and access token. */
export interface Account {
  id: string;
  token: string;
}

/** Signs `phone` in and returns the account. */
export async function account(h: Harness, phone: string): Promise<Account> {
  const body = await h.signIn(phone);
  return { id: body.user.id, token: body.access_token };
}

/** Asks for a contact code (202 asserted) and returns the request id and the code sent. */
export async function requestContact(
  h: Harness,
  who: Account,
  contact: { phone: string } | { email: string },
  init: { ip?: string; locale?: string } = {},
): Promise<{ requestId: string; code: string; body: Record<string, unknown> }> {
  const payload = init.locale ? { ...contact, locale: init.locale } : contact;
  const res = await h.post("/api/v1/me/contact/request", payload, {
    token: who.token,
    ip: init.ip,
  });
  assert.equal(res.status, 202, await res.clone().text());
  const body = await res.json();
  const code = "phone" in contact
    ? h.sms.lastCode(contact.phone)
    : h.email.lastCode(contact.email.trim().toLowerCase());
  assert.ok(code, "the code reached the new contact");
  return { requestId: body.request_id, code, body };
}

/** Verifies a contact code; returns the response. */
export function verifyContact(
  h: Harness,
  who: Account,
  requestId: string,
  code: string,
): Promise<Response> {
  return h.post("/api/v1/me/contact/verify", { request_id: requestId, code }, {
    token: who.token,
  });
}

/** `DELETE /api/v1/me/contact/<kind>` as `who`. */
export async function removeContact(h: Harness, who: Account, kind: string): Promise<Response> {
  return await h.app.request(`/api/v1/me/contact/${kind}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${who.token}` },
  });
}

/** The caller's user as `GET /api/v1/me` answers it. */
export async function me(h: Harness, who: Account): Promise<Record<string, unknown>> {
  const res = await h.get("/api/v1/me", { token: who.token });
  assert.equal(res.status, 200);
  return (await res.json()).user;
}
