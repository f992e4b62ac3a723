import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { ERASURE_SETTLE_MS, resumeErasures } from "../../core/account/erase.ts";
import { REFRESH_REUSE_GRACE_MS } from "../../core/auth/refresh.ts";
import { newId } from "../../core/ids.ts";
import { keys } from "../../kv/keys.ts";
import type { RefreshToken, Session } from "../../kv/sessions.ts";
import { assertErased } from "../account/kv_dump.ts";
import type { Harness, SignInBody } from "../helpers.ts";
import { ADMIN, adminHarness, call, json } from "./admin_helpers.ts";

/**
 * Sessions and refresh tokens as the layout before `rt2` wrote them (one opaque token stored
 * under its SHA-256 in `refresh_tokens`, the session with no generation nor salt) keep
 * refreshing, listing and revoking after the upgrade.
 */

const PHONE = "+14155550120";

/** A session of before, written as `addOpenSession` wrote it then; returns its token. */
async function legacySession(
  h: Harness,
  userId: string,
  userAgent: string,
): Promise<{ id: string; token: string }> {
  const now = h.clock.now();
  const expiresAt = now + h.ctx.config.refreshTokenTtlSeconds * 1000;
  const session: Session = {
    id: newId("fam", now),
    userId,
    createdAt: now,
    expiresAt,
    revokedAt: null,
    userAgent,
    ip: "203.0.113.50",
    lastUsedAt: now,
  };
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const hash = createHash("sha256").update(token).digest("base64url");
  const stored: RefreshToken = { familyId: session.id, userId, expiresAt, rotatedAt: null };
  const expireIn = expiresAt - now;
  const result = await h.ctx.kv.atomic()
    .set(keys.session(session.id), session, { expireIn })
    .set(keys.sessionOfUser(userId, session.id), expiresAt, { expireIn })
    .set(keys.refreshToken(hash), stored, { expireIn })
    .commit();
  assert.ok(result.ok);
  h.clock.advance(1_000); // distinct creation times: lists are ordered by them
  return { id: session.id, token };
}

function refresh(h: Harness, token: string): Promise<Response> {
  return h.post("/api/v1/auth/refresh", { refresh_token: token });
}

async function status(res: Response): Promise<number> {
  await res.body?.cancel();
  return res.status;
}

async function listed(h: Harness, accessToken: string): Promise<string[]> {
  const body = await json(await call(h, "GET", "/api/v1/sessions", { token: accessToken }));
  return (body.sessions as { id: string }[]).map((s) => s.id).sort();
}

Deno.test("upgrade - sessions and tokens of before still refresh, list and revoke", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const current = await h.signIn(PHONE);
  const userId = current.user.id;
  const currentId = (await listed(h, current.access_token))[0];
  const l1 = await legacySession(h, userId, "old app 1");
  const l2 = await legacySession(h, userId, "old app 2");
  const l3 = await legacySession(h, userId, "old app 3");

  // Listed to the user and on the admin's user page.
  const all = [currentId, l1.id, l2.id, l3.id].sort();
  assert.deepEqual(await listed(h, current.access_token), all);
  const detail = await json(
    await call(h, "GET", `/api/v1/admin/users/${userId}`, { token: admin.access_token }),
  );
  assert.deepEqual((detail.sessions as { id: string }[]).map((s) => s.id).sort(), all);
  assert.ok(
    (detail.sessions as { user_agent: string }[]).some((s) => s.user_agent === "old app 1"),
  );

  // A token of before refreshes, once, into one that names its session.
  const commits: string[][] = [];
  const commit = h.ctx.commits.commit.bind(h.ctx.commits);
  h.ctx.commits.commit = (writes) => {
    commits.push(writes.mutations.map((m) => String(m.key[0])));
    return commit(writes);
  };
  const res = await refresh(h, l1.token);
  const first: SignInBody = await res.json();
  assert.equal(res.status, 200, JSON.stringify(first));
  assert.deepEqual(commits, [["refresh_tokens", "refresh_families", "families_by_user"]]);
  assert.ok(first.refresh_token.startsWith(`rt2.${l1.id}.1.`));
  const me = await json(await h.get("/api/v1/me", { token: first.access_token }));
  assert.equal((me.user as { id: string }).id, userId);
  // The old token again within the grace: refused, nothing revoked.
  assert.equal(await status(await refresh(h, l1.token)), 401);
  const second: SignInBody = await (await refresh(h, first.refresh_token)).json();
  assert.ok(second.refresh_token.startsWith(`rt2.${l1.id}.2.`));
  assert.deepEqual(await listed(h, current.access_token), all, "the same sessions");
  // After the grace, the old token is theft: its session ends.
  h.clock.advance(REFRESH_REUSE_GRACE_MS);
  assert.equal(await status(await refresh(h, l1.token)), 401);
  assert.equal(await status(await h.get("/api/v1/me", { token: second.access_token })), 401);
  assert.equal(await status(await refresh(h, second.refresh_token)), 401);

  // Logout with a token of before in the body ends its session too.
  const fromL2: SignInBody = await (await refresh(h, l2.token)).json();
  assert.equal(
    await status(await h.post("/api/v1/auth/logout", {}, { token: fromL2.access_token })),
    204,
  );
  const l3Pair: SignInBody = await (await refresh(h, l3.token)).json();
  h.clock.advance(61_000);
  const other = await h.signIn(PHONE);
  const l4 = await legacySession(h, userId, "old app 4");
  assert.equal(
    await status(
      await h.post("/api/v1/auth/logout", { refresh_token: l4.token }, {
        token: other.access_token,
      }),
    ),
    204,
  );
  assert.equal(await status(await refresh(h, l4.token)), 401);

  // DELETE /sessions/:id ends an upgraded one.
  assert.equal(
    await status(
      await call(h, "DELETE", `/api/v1/sessions/${l3.id}`, { token: current.access_token }),
    ),
    204,
  );
  assert.equal(await status(await refresh(h, l3Pair.refresh_token)), 401);
  assert.deepEqual(await listed(h, current.access_token), [currentId]);
});

Deno.test("upgrade - an erasure removes the user's tokens of before and every session", async () => {
  await using h = await adminHarness({ OTP_RESEND_COOLDOWN_SECONDS: "0" });
  const user = await h.signIn(PHONE);
  const userId = user.user.id;
  await legacySession(h, userId, "old app");
  const rotated = await legacySession(h, userId, "old app, rotated");
  await json(await refresh(h, rotated.token));
  // A new-shape session logged out: out of the user's index, its record kept.
  const out = await h.signIn(PHONE);
  assert.equal(
    await status(await h.post("/api/v1/auth/logout", {}, { token: out.access_token })),
    204,
  );
  assert.equal(
    await status(await call(h, "DELETE", "/api/v1/me", { token: user.access_token })),
    204,
  );
  h.clock.advance(ERASURE_SETTLE_MS);
  await resumeErasures(h.ctx);
  await assertErased(h.ctx.kv, { userId, contacts: [PHONE] });
});
