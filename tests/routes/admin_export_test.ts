import assert from "node:assert/strict";
import { csvCell, csvRow } from "../../core/admin/export.ts";
import { newId } from "../../core/ids.ts";
import { addSaveUser, emptyUserEntry, type User } from "../../kv/users.ts";
import type { Harness } from "../helpers.ts";
import { ADMIN, adminHarness, call, dashboardCookie, failsWith } from "./admin_helpers.ts";

/** Parses RFC 4180 CSV (quoted cells with doubled quotes, CRLF records). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  assert.equal(cell + row.join(""), "", "the last record ends with CRLF");
  return rows;
}

async function download(h: Harness, path: string, token: string): Promise<string[][]> {
  const res = await call(h, "GET", path, { token });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
  const name = path.endsWith("users.csv") ? "users" : "events";
  assert.equal(
    res.headers.get("content-disposition"),
    `attachment; filename="${name}-${new Date(h.clock.now()).toISOString().slice(0, 10)}.csv"`,
  );
  return parseCsv(await res.text());
}

Deno.test("csvCell() - RFC 4180 quoting, and formulas are never formulas", () => {
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell(null), "");
  assert.equal(csvCell(undefined), "");
  assert.equal(csvCell(42), "42");
  assert.equal(csvCell("a,b"), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell("two\r\nlines"), '"two\r\nlines"');
  assert.equal(csvCell("=SUM(A1:A9)"), "'=SUM(A1:A9)");
  assert.equal(csvCell("+14155550100"), "'+14155550100");
  assert.equal(csvCell("-1"), "'-1");
  assert.equal(csvCell("@cmd"), "'@cmd");
  assert.equal(csvCell('=HYPERLINK("x","y")'), `"'=HYPERLINK(""x"",""y"")"`);
  assert.equal(csvCell({ a: 1, b: "c" }), '"{""a"":1,""b"":""c""}"');
  assert.equal(csvRow(["a", null, "b,c"]), 'a,,"b,c"\r\n');
});

Deno.test("admin export - users.csv streams every user, newest first, paged inside", async () => {
  await using h = await adminHarness();
  const admin = await h.signIn(ADMIN);
  // More users than one page of the export (500), written straight to KV: ten a commit, as
  // each checks its unique email and KV Connect takes at most 10 checks per commit.
  const made: string[] = [];
  for (let batch = 0; batch < 120; batch++) {
    const op = h.ctx.kv.atomic();
    for (let i = 0; i < 10; i++) {
      h.clock.advance(1);
      const now = h.clock.now();
      const user: User = {
        id: newId("usr", now),
        phone: null,
        email: `user${batch * 10 + i}@example.com`,
        telegramId: null,
        status: "active",
        role: "user",
        createdAt: now,
        updatedAt: now,
      };
      addSaveUser(op, user, emptyUserEntry(user.id));
      made.push(user.id);
    }
    assert.ok((await op.commit()).ok);
  }
  const rows = await download(h, "/api/v1/admin/users.csv", admin.access_token);
  assert.deepEqual(rows[0], [
    "id",
    "phone",
    "email",
    "telegram_id",
    "status",
    "role",
    "created_at",
    "presence",
    "last_seen",
  ]);
  assert.equal(rows.length, 1 + 1 + made.length);
  assert.deepEqual(rows.slice(1, 4).map((r) => r[0]), made.slice(-3).reverse(), "newest first");
  assert.equal(new Set(rows.slice(1).map((r) => r[0])).size, made.length + 1);
  const adminRow = rows.at(-1)!;
  assert.deepEqual(adminRow.slice(0, 8), [
    admin.user.id,
    "'+14155550000",
    "",
    "",
    "active",
    "admin",
    "2026-11-21T10:00:00.000Z",
    "online",
  ]);
});

Deno.test("admin export - events.csv is the last 24 h of the log; 401 and 403", async () => {
  await using h = await adminHarness();
  const old = await h.signIn("+14155550101");
  h.clock.advance(25 * 3_600_000);
  const admin = await h.signIn(ADMIN);
  const rows = await download(h, "/api/v1/admin/events.csv", admin.access_token);
  assert.deepEqual(rows[0], ["id", "at", "kind", "type", "user_id", "data"]);
  const types = rows.slice(1).map((r) => r[3]);
  assert.ok(types.includes("otp.verified"));
  assert.ok(
    !rows.some((r) => r[4] === old.user.id && r[3] !== "presence.offline"),
    "a day-old sign-in is gone (its timeout, noticed now, is new)",
  );
  const verified = rows.find((r) => r[3] === "otp.verified")!;
  assert.equal(verified[2], "otp");
  assert.equal(verified[4], admin.user.id);
  const data = JSON.parse(verified[5]);
  assert.equal(data.recipient, "+1415•••0000");
  assert.equal(data.channel, "sms");
  const ids = rows.slice(1).map((r) => r[0]);
  assert.deepEqual(ids, [...ids].sort().reverse(), "newest first");

  const user = await h.signIn("+14155550102");
  for (const path of ["/api/v1/admin/events.csv", "/api/v1/admin/users.csv"]) {
    await failsWith(await call(h, "GET", path), 401, "UNAUTHORIZED");
    await failsWith(await call(h, "GET", path, { token: user.access_token }), 403, "FORBIDDEN");
  }
  const cookie = await dashboardCookie(h);
  const viaCookie = await call(h, "GET", "/api/v1/admin/users.csv", { cookie });
  assert.equal(viaCookie.status, 200, "the dashboard downloads it with its cookie");
  await viaCookie.body?.cancel();
});
