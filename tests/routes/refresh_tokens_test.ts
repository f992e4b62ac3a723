import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { REFRESH_REUSE_GRACE_MS } from "../../core/auth/refresh.ts";
import { deriveRefreshKey, makeRefreshToken } from "../../core/auth/refresh_tokens.ts";
import { keys } from "../../kv/keys.ts";
import type { Session } from "../../kv/sessions.ts";
import { type Harness, type SignInBody, startHarness } from "../helpers.ts";

const PHONE = "+14155550110";

function refresh(h: Harness, token: string): Promise<Response> {
  return h.post("/api/v1/auth/refresh", { refresh_token: token });
}

async function refreshed(h: Harness, token: string): Promise<SignInBody> {
  const res = await refresh(h, token);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

async function assertRefused(res: Response): Promise<void> {
  const body = await res.json();
  assert.equal(res.status, 401, JSON.stringify(body));
  assert.equal(body.error.code, "UNAUTHORIZED");
}

function sidOf(accessToken: string): string {
  return JSON.parse(Buffer.from(accessToken.split(".")[1], "base64url").toString()).sid;
}

async function sessionOf(h: Harness, id: string): Promise<Session> {
  return (await h.ctx.kv.get<Session>(keys.session(id))).value!;
}

/** The base64url character whose value differs from `c`'s in the lowest bit only. */
function flipLowBits(c: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return alphabet[alphabet.indexOf(c) ^ 1];
}

async function meStatus(h: Harness, accessToken: string): Promise<number> {
  const res = await h.get("/api/v1/me", { token: accessToken });
  await res.body?.cancel();
  return res.status;
}

Deno.test("refresh tokens - a sign-in's token names its session and rotates; none is stored", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const sid = sidOf(first.access_token);
  assert.match(first.refresh_token, new RegExp(`^rt2\\.${sid}\\.1\\.[A-Za-z0-9_-]{43}$`));
  const stored = [];
  for await (const entry of h.ctx.kv.list({ prefix: ["refresh_tokens"] })) stored.push(entry);
  assert.deepEqual(stored, [], "no refresh token record");

  h.clock.advance(60_000);
  const second = await refreshed(h, first.refresh_token);
  assert.match(second.refresh_token, new RegExp(`^rt2\\.${sid}\\.2\\.`));
  assert.equal(sidOf(second.access_token), sid, "the same session");
  const session = await sessionOf(h, sid);
  assert.equal(session.generation, 2);
  assert.deepEqual(session.rotations, [h.clock.now()]);
  assert.equal(session.expiresAt, h.clock.now() + h.ctx.config.refreshTokenTtlSeconds * 1000);
  // The previous token within the grace: refused, nothing revoked.
  await assertRefused(await refresh(h, first.refresh_token));
  const third = await refreshed(h, second.refresh_token);
  assert.match(third.refresh_token, new RegExp(`^rt2\\.${sid}\\.3\\.`));
  assert.equal(await meStatus(h, third.access_token), 200);
});

Deno.test("refresh tokens - 20 parallel refreshes of one token: exactly one new pair, nothing revoked", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => refresh(h, first.refresh_token)),
  );
  const ok = answers.filter((res) => res.status === 200);
  assert.equal(ok.length, 1, answers.map((res) => res.status).join(","));
  for (const res of answers) if (res.status !== 200) await assertRefused(res);
  const winner: SignInBody = await ok[0].json();
  const session = await sessionOf(h, sidOf(first.access_token));
  assert.equal(session.generation, 2, "one rotation");
  assert.equal(session.revokedAt, null, "a client racing itself revokes nothing");
  // The grace over, the winner's token still works; the old one is now theft.
  h.clock.advance(REFRESH_REUSE_GRACE_MS);
  const next = await refreshed(h, winner.refresh_token);
  assert.equal(await meStatus(h, next.access_token), 200);
});

Deno.test("refresh tokens - a forged MAC with a real session id is 401 and the session keeps working", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const sid = sidOf(first.access_token);
  const realMac = first.refresh_token.split(".")[3];
  const garbage = Buffer.alloc(32, 7).toString("base64url");
  const forged = [
    `rt2.${sid}.1.${garbage}`, // the current generation
    `rt2.${sid}.0.${garbage}`, // an older one: would be reuse if it were genuine
    `rt2.${sid}.2.${realMac}`, // a real MAC moved to another generation
    // The last character's low bits decode to nothing: the MAC is compared as written.
    `rt2.${sid}.1.${realMac.slice(0, 42)}${flipLowBits(realMac.at(-1)!)}`,
    `rt2.${sid}.1.${realMac}x`,
    `rt2.${sid}.-1.${realMac}`,
    `rt2.${sid}..${realMac}`,
    `rt2.fam_01JNOSUCHSESSION0000000000.1.${realMac}`,
    "rt2.",
  ];
  // What a KV dump tells (the session's id, generation and salt) is not enough: the key is
  // derived from the server secret, which KV does not hold.
  const dumped = await sessionOf(h, sid);
  const otherKey = await deriveRefreshKey(new TextEncoder().encode("a secret that is not it"));
  forged.push(makeRefreshToken(otherKey, { id: sid, generation: 1, salt: dumped.salt! }));
  h.clock.advance(REFRESH_REUSE_GRACE_MS * 2);
  for (const token of forged) await assertRefused(await refresh(h, token));
  const session = await sessionOf(h, sid);
  assert.equal(session.revokedAt, null);
  assert.equal(session.generation, 1, "nothing rotated");
  assert.equal(await meStatus(h, first.access_token), 200);
  const next = await refreshed(h, first.refresh_token);
  assert.equal(sidOf(next.access_token), sid);
  // Logout from another session of the user, with a forged token of this one: only the
  // caller's own ends.
  h.clock.advance(61_000);
  const other = await h.signIn(PHONE);
  const res = await h.post("/api/v1/auth/logout", { refresh_token: `rt2.${sid}.2.${garbage}` }, {
    token: other.access_token,
  });
  assert.equal(res.status, 204);
  assert.equal(await meStatus(h, next.access_token), 200, "not ended by a forged token");
});

Deno.test("refresh tokens - every token exchanged within the grace is a race, not theft; older ones are", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const sid = sidOf(first.access_token);
  h.clock.advance(4_000);
  const second = await refreshed(h, first.refresh_token);
  h.clock.advance(4_000);
  const third = await refreshed(h, second.refresh_token);
  // Both earlier tokens were exchanged less than 10 s ago: refused, nothing revoked.
  await assertRefused(await refresh(h, first.refresh_token));
  await assertRefused(await refresh(h, second.refresh_token));
  assert.equal((await sessionOf(h, sid)).revokedAt, null);
  assert.equal((await sessionOf(h, sid)).rotations?.length, 2);
  // 7 s on, the first was exchanged 11 s ago: presenting it now is theft.
  h.clock.advance(7_000);
  await assertRefused(await refresh(h, first.refresh_token));
  assert.notEqual((await sessionOf(h, sid)).revokedAt, null);
  assert.equal(await meStatus(h, third.access_token), 401);
  await assertRefused(await refresh(h, third.refresh_token));
});

Deno.test("refresh tokens - a token two generations old, exchanged long ago, revokes the session", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const second = await refreshed(h, first.refresh_token);
  h.clock.advance(REFRESH_REUSE_GRACE_MS);
  const third = await refreshed(h, second.refresh_token);
  // The first was exchanged 10 s ago (the grace is over), though the last rotation is new.
  await assertRefused(await refresh(h, first.refresh_token));
  const sid = sidOf(first.access_token);
  assert.notEqual((await sessionOf(h, sid)).revokedAt, null);
  assert.equal(await meStatus(h, third.access_token), 401);
});

Deno.test("refresh tokens - the previous generation after the grace is theft: the session ends", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const second = await refreshed(h, first.refresh_token);
  h.clock.advance(REFRESH_REUSE_GRACE_MS);
  await assertRefused(await refresh(h, first.refresh_token));
  assert.equal(await meStatus(h, second.access_token), 401);
  await assertRefused(await refresh(h, second.refresh_token));
});

Deno.test("refresh tokens - logout with the refresh token of another own session ends it too", async () => {
  await using h = await startHarness();
  const a = await h.signIn(PHONE);
  h.clock.advance(61_000);
  const b = await h.signIn(PHONE);
  const res = await h.post("/api/v1/auth/logout", { refresh_token: b.refresh_token }, {
    token: a.access_token,
  });
  assert.equal(res.status, 204);
  assert.equal(await meStatus(h, b.access_token), 401);
  await assertRefused(await refresh(h, b.refresh_token));
});

Deno.test("refresh tokens - a KV dump after sign-in and refresh holds no token nor MAC", async () => {
  await using h = await startHarness();
  const first = await h.signIn(PHONE);
  const second = await refreshed(h, first.refresh_token);
  const secrets = [first.refresh_token, second.refresh_token].flatMap((t) => [t, t.split(".")[3]]);
  for await (const entry of h.ctx.kv.list({ prefix: [] })) {
    const dump = JSON.stringify(
      { key: entry.key, value: entry.value },
      (_, v) => typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? [...v] : v,
    );
    for (const secret of secrets) assert.ok(!dump.includes(secret), `${entry.key} holds a secret`);
  }
});

Deno.test("refresh tokens - a verify writes no token record and a refresh two mutations", async () => {
  await using h = await startHarness();
  const commits: string[][] = [];
  const commit = h.ctx.commits.commit.bind(h.ctx.commits);
  h.ctx.commits.commit = (writes) => {
    commits.push(writes.mutations.map((m) => String(m.key[0])));
    return commit(writes);
  };
  const first = await h.signIn(PHONE);
  const verify = commits.find((c) => c.includes("refresh_families"))!;
  assert.ok(!verify.includes("refresh_tokens"));
  commits.length = 0;
  await refreshed(h, first.refresh_token);
  assert.deepEqual(commits, [["refresh_families", "families_by_user"]]);
});
