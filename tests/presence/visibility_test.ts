import assert from "node:assert/strict";
import { createKey } from "../routes/api_key_helpers.ts";
import { ADMIN, adminHarness, call, json } from "../routes/admin_helpers.ts";
import { type Harness, openSocket, serveHarness, type TestSocket, ticketUrl } from "../helpers.ts";

/*
 * Who sees whom (README, "Who sees you online"): everyone / contacts / nobody, for a stranger, a contact, an admin,
 * a `presence:read` key and the user themselves, over HTTP and over the socket. A hidden user
 * reads exactly as an unknown id.
 */

/** An id nobody has: what every hidden user must look like. */
const UNKNOWN = "usr_01JZZZZZZZZZZZZZZZZZZZZZZZ";
const LAST_SEEN = "2026-11-21T10:00:00.000Z";

type Visibility = "everyone" | "contacts" | "nobody";
type ViewerName = "stranger" | "contact" | "admin" | "key" | "self";

/** Who sees the owner under each visibility. */
const SEES: Record<Visibility, ViewerName[]> = {
  everyone: ["stranger", "contact", "admin", "key", "self"],
  contacts: ["contact", "admin", "key", "self"],
  nobody: ["admin", "key", "self"],
};

interface World {
  h: Harness;
  owner: { id: string; token: string };
  tokens: Record<ViewerName, string>;
}

async function world(): Promise<World> {
  const h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const owner = await h.signIn("+14155550101");
  const contact = await h.signIn("+14155550102");
  const stranger = await h.signIn("+14155550103");
  const key = await createKey(h, admin.access_token, ["presence:read"]);
  const put = await call(h, "PUT", "/api/v1/me/presence-contacts", {
    token: owner.access_token,
  }, { user_ids: [contact.user.id] });
  assert.deepEqual(await json(put), { user_ids: [contact.user.id] });
  return {
    h,
    owner: { id: owner.user.id, token: owner.access_token },
    tokens: {
      stranger: stranger.access_token,
      contact: contact.access_token,
      admin: admin.access_token,
      key: key.secret,
      self: owner.access_token,
    },
  };
}

async function setVisibility(w: World, visibility: Visibility): Promise<void> {
  const res = await call(w.h, "PATCH", "/api/v1/me", { token: w.owner.token }, {
    presence_visibility: visibility,
  });
  const body = await json(res);
  assert.equal((body.user as { presence_visibility: string }).presence_visibility, visibility);
}

Deno.test("visibility - the HTTP matrix: hidden reads byte for byte as an unknown id", async () => {
  const w = await world();
  await using _h = w.h;
  for (const visibility of ["everyone", "contacts", "nobody"] as const) {
    await setVisibility(w, visibility);
    for (const viewer of Object.keys(w.tokens) as ViewerName[]) {
      const res = await call(w.h, "GET", `/api/v1/presence?user_ids=${w.owner.id},${UNKNOWN}`, {
        token: w.tokens[viewer],
      });
      assert.equal(res.status, 200);
      const text = await res.text();
      const { users } = JSON.parse(text);
      const what = `${viewer} under ${visibility}`;
      if (SEES[visibility].includes(viewer)) {
        assert.deepEqual(users[0], {
          user_id: w.owner.id,
          status: "online",
          last_seen: LAST_SEEN,
        }, what);
      } else {
        // Same fields in the same order as the unknown id's: the text itself is compared.
        assert.equal(
          text,
          `{"users":[${
            JSON.stringify({ user_id: w.owner.id, status: "offline", last_seen: null })
          },${JSON.stringify({ user_id: UNKNOWN, status: "offline", last_seen: null })}]}`,
          what,
        );
      }
    }
  }
});

Deno.test("visibility - the user object and PATCH /api/v1/me: default everyone, bad input 400", async () => {
  await using h = await adminHarness();
  const user = await h.signIn("+14155550101");
  assert.equal((user.user as { presence_visibility?: string }).presence_visibility, "everyone");
  const me = await json(await call(h, "GET", "/api/v1/me", { token: user.access_token }));
  assert.equal((me.user as { presence_visibility: string }).presence_visibility, "everyone");
  for (
    const body of [
      { presence_visibility: "friends" },
      { presence_visibility: "nobody", role: "admin" },
      {},
      { presence_visibility: null },
    ]
  ) {
    const res = await call(h, "PATCH", "/api/v1/me", { token: user.access_token }, body);
    const answer = await json(res, 400);
    assert.equal(
      (answer.error as { code: string }).code,
      "VALIDATION_FAILED",
      JSON.stringify(body),
    );
  }
  const unauthenticated = await call(h, "PATCH", "/api/v1/me", {}, {
    presence_visibility: "nobody",
  });
  assert.equal(unauthenticated.status, 401);
  const set = await json(
    await call(h, "PATCH", "/api/v1/me", { token: user.access_token }, {
      presence_visibility: "nobody",
    }),
  );
  assert.equal((set.user as { presence_visibility: string }).presence_visibility, "nobody");
  assert.equal((set.user as { id: string }).id, user.user.id);
});

/** A socket of `token`'s user, subscribed to `userId`: its answer to the subscribe. */
async function watch(
  h: Harness,
  wsUrl: string,
  token: string,
  userId: string,
): Promise<{ ws: TestSocket; answer: Record<string, unknown> }> {
  const ws = await openSocket(await ticketUrl(h, wsUrl, token));
  assert.equal((await ws.next()).type, "ready");
  ws.send({ type: "subscribe", user_ids: [userId] });
  return { ws, answer: await ws.next() };
}

/** Asserts nothing more came on `ws` (a ping's pong comes first). */
async function nothingMore(ws: TestSocket, what: string): Promise<void> {
  ws.send({ type: "ping" });
  assert.deepEqual(await ws.next(), { type: "pong" }, what);
}

Deno.test("visibility - over the socket: subscribe answers, and each change tells who lost or gained sight", async () => {
  const w = await world();
  await using _h = w.h;
  await using server = serveHarness(w.h);
  const hidden = { type: "presence", user_id: w.owner.id, status: "offline", last_seen: null };
  const real = { type: "presence", user_id: w.owner.id, status: "online", last_seen: LAST_SEEN };

  await setVisibility(w, "contacts");
  const viewers = ["stranger", "contact", "admin", "self"] as const;
  const sockets = new Map<string, TestSocket>();
  try {
    for (const viewer of viewers) {
      const { ws, answer } = await watch(w.h, server.wsUrl, w.tokens[viewer], w.owner.id);
      sockets.set(viewer, ws);
      assert.deepEqual(answer, SEES.contacts.includes(viewer) ? real : hidden, viewer);
    }
    // contacts → nobody: the contact loses sight; nobody else's view changes.
    await setVisibility(w, "nobody");
    assert.deepEqual(await sockets.get("contact")!.next(1_000), hidden, "the contact lost sight");
    for (const viewer of ["stranger", "admin", "self"]) {
      await nothingMore(sockets.get(viewer)!, `${viewer} under nobody`);
    }
    // nobody → everyone: the stranger and the contact gain sight, with the real presence.
    await setVisibility(w, "everyone");
    assert.deepEqual(await sockets.get("stranger")!.next(1_000), real);
    assert.deepEqual(await sockets.get("contact")!.next(1_000), real);
    for (const viewer of ["admin", "self"]) await nothingMore(sockets.get(viewer)!, viewer);

    // everyone → contacts, then the contact is taken off the list: each loses sight in turn.
    await setVisibility(w, "contacts");
    assert.deepEqual(await sockets.get("stranger")!.next(1_000), hidden);
    await nothingMore(sockets.get("contact")!, "the contact still sees");
    const cleared = await call(w.h, "PUT", "/api/v1/me/presence-contacts", {
      token: w.owner.token,
    }, { user_ids: [] });
    assert.deepEqual(await json(cleared), { user_ids: [] });
    assert.deepEqual(await sockets.get("contact")!.next(1_000), hidden);

    // A presence change now reaches only those who see: the admin and the owner's own socket.
    const out = await w.h.post("/api/v1/auth/logout", {}, { token: w.tokens.self });
    assert.equal(out.status, 204);
    const admin = await sockets.get("admin")!.next(1_000);
    assert.equal(admin.status, "offline");
    assert.equal(admin.last_seen, LAST_SEEN, "the admin sees the real last seen");
    for (const viewer of ["stranger", "contact"]) {
      await nothingMore(sockets.get(viewer)!, `${viewer} hears nothing of a hidden user`);
    }
  } finally {
    for (const ws of sockets.values()) await ws[Symbol.asyncDispose]();
  }
});

Deno.test("visibility - presence contacts: dedup, unknown ids kept, over 1,000 or malformed 400", async () => {
  await using h = await adminHarness();
  const user = await h.signIn("+14155550101");
  const token = user.access_token;
  const ids = Array.from({ length: 1_000 }, (_, i) => `usr_01J${String(i).padStart(23, "0")}`);
  const empty = await json(await call(h, "GET", "/api/v1/me/presence-contacts", { token }));
  assert.deepEqual(empty, { user_ids: [] });

  const put = await call(h, "PUT", "/api/v1/me/presence-contacts", { token }, {
    user_ids: [ids[1], ids[0], ids[1], UNKNOWN],
  });
  assert.deepEqual(await json(put), { user_ids: [ids[1], ids[0], UNKNOWN] });
  const read = await json(await call(h, "GET", "/api/v1/me/presence-contacts", { token }));
  assert.deepEqual(read, { user_ids: [ids[1], ids[0], UNKNOWN] });

  const full = await call(h, "PUT", "/api/v1/me/presence-contacts", { token }, { user_ids: ids });
  assert.equal(((await json(full)).user_ids as string[]).length, 1_000);

  for (
    const body of [
      { user_ids: [...ids, UNKNOWN] },
      { user_ids: ["not-an-id"] },
      { user_ids: "usr_01JZZZZZZZZZZZZZZZZZZZZZZZ" },
      { user_ids: [UNKNOWN], extra: true },
      {},
    ]
  ) {
    const res = await call(h, "PUT", "/api/v1/me/presence-contacts", { token }, body);
    const answer = await json(res, 400);
    assert.equal((answer.error as { code: string }).code, "VALIDATION_FAILED");
  }
  const kept = await json(await call(h, "GET", "/api/v1/me/presence-contacts", { token }));
  assert.equal((kept.user_ids as string[]).length, 1_000, "a refused list changes nothing");
});

Deno.test("visibility - the admin route: contacts:write keys and admins; users:read is 403; audited; 404", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  const user = await h.signIn("+14155550101");
  const path = `/api/v1/admin/users/${user.user.id}/presence-contacts`;
  const reader = await createKey(h, admin.access_token, ["users:read"]);
  const writer = await createKey(h, admin.access_token, ["contacts:write"]);

  const refused = await json(
    await call(h, "PUT", path, { token: reader.secret }, { user_ids: [UNKNOWN] }),
    403,
  );
  assert.deepEqual(
    [(refused.error as { code: string }).code, (refused.error as { scope: string }).scope],
    ["FORBIDDEN", "contacts:write"],
  );
  const byKey = await call(h, "PUT", path, { token: writer.secret }, { user_ids: [UNKNOWN] });
  assert.deepEqual(await json(byKey), { user_ids: [UNKNOWN] });
  const byAdmin = await call(h, "PUT", path, { token: admin.access_token }, {
    user_ids: [UNKNOWN, admin.user.id],
  });
  assert.deepEqual(await json(byAdmin), { user_ids: [UNKNOWN, admin.user.id] });
  const own = await json(
    await call(h, "GET", "/api/v1/me/presence-contacts", { token: user.access_token }),
  );
  assert.deepEqual(own, { user_ids: [UNKNOWN, admin.user.id] });

  const nobody = await call(h, "PUT", `/api/v1/admin/users/${UNKNOWN}/presence-contacts`, {
    token: writer.secret,
  }, { user_ids: [] });
  assert.equal(nobody.status, 404);
  const bad = await call(h, "PUT", path, { token: writer.secret }, { user_ids: ["x"] });
  assert.equal(bad.status, 400);
  const byUser = await call(h, "PUT", path, { token: user.access_token }, { user_ids: [] });
  assert.equal(byUser.status, 403, "a user's own token is no admin");

  const audit = await json(
    await call(h, "GET", "/api/v1/admin/audit", { token: admin.access_token }),
  );
  const entries = (audit.entries as { action: string; target: string; actor: object }[])
    .filter((e) => e.action === "user.presence_contacts");
  assert.equal(entries.length, 2);
  assert.equal(entries[0].target, user.user.id);
  assert.equal((entries[0].actor as { user_id: string }).user_id, admin.user.id);
  assert.equal((entries[1].actor as { api_key_id: string }).api_key_id, writer.key.id);
});
