import assert from "node:assert/strict";
import { z } from "zod";
import { AppError } from "../../core/errors.ts";
import {
  cursorSchema,
  ID,
  isId,
  listQuery,
  oneOf,
  pageCursor,
  readFromCursor,
} from "../../routes/_validation.ts";

Deno.test("isId() - the same shapes the path patterns take, anchored", () => {
  assert.ok(isId("user", "usr_01M7YRRT8000SF59MQA2HP4QA7"));
  assert.ok(isId("user", "x".repeat(64)));
  for (const bad of ["", "x".repeat(65), "not.an.id", "usr_1/..", undefined]) {
    assert.equal(isId("user", bad), false, String(bad));
  }
  assert.ok(isId("family", "fam_01M7YRRT8000SF59MQA2HP4QA7"));
  for (
    const bad of [
      "usr_01M7YRRT8000SF59MQA2HP4QA7",
      "fam_01M7YRRT",
      "xfam_01M7YRRT8000SF59MQA2HP4QA7",
    ]
  ) {
    assert.equal(isId("family", bad), false, bad);
  }
  assert.ok(isId("event", "01M7YRRT8000SF59MQA2HP4QA7"));
  assert.equal(isId("event", "01m7yrrt8000sf59mqa2hp4qa7"), false, "event ids are upper case");
  assert.ok(isId("setting", "otp_length"));
  assert.equal(isId("setting", "OTP"), false);
  // Unanchored for Hono's `:id{…}`: a pattern, not a whole-string test.
  assert.ok(!ID.user.startsWith("^") && !ID.family.endsWith("$"));
});

Deno.test("cursorSchema and listQuery - base64url up to 1024, empty is none, limit 1 to 200 default 50", () => {
  const schema = z.object(listQuery).strict();
  assert.deepEqual(schema.parse({}), { limit: 50 });
  assert.deepEqual(schema.parse({ limit: "200", cursor: "AAE_-=" }), {
    limit: 200,
    cursor: "AAE_-=",
  });
  assert.equal(cursorSchema.parse(""), undefined);
  for (
    const bad of [{ cursor: "<script>" }, { cursor: "A".repeat(1025) }, { limit: "0" }, {
      limit: "201",
    }, { limit: "1.5" }]
  ) {
    assert.equal(schema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

Deno.test("pageCursor() and oneOf() - a page keeps what could be valid and drops the rest", () => {
  assert.equal(pageCursor("AAE_-="), "AAE_-=");
  for (const bad of [undefined, "", "%3Cscript%3E", "a b", "A".repeat(1025)]) {
    assert.equal(pageCursor(bad), undefined, String(bad));
  }
  assert.equal(oneOf("sms", ["sms", "email"] as const), "sms");
  assert.equal(oneOf("SMS", ["sms", "email"] as const), undefined);
  assert.equal(oneOf(undefined, ["sms"] as const), undefined);
  assert.equal(oneOf("toString", ["sms"] as const), undefined, "no inherited names");
});

Deno.test("readFromCursor() - a stale cursor reads the first page instead; other failures still fail", async () => {
  const asked: (string | undefined)[] = [];
  const read = (cursor: string | undefined) => {
    asked.push(cursor);
    if (cursor === "stale") throw new AppError("VALIDATION_FAILED", "not a cursor");
    if (cursor === "broken") throw new Error("disk on fire");
    return Promise.resolve(`page from ${cursor ?? "the newest"}`);
  };
  assert.deepEqual(await readFromCursor(read, "good"), { page: "page from good", cursor: "good" });
  assert.deepEqual(await readFromCursor(read, undefined), {
    page: "page from the newest",
    cursor: undefined,
  });
  assert.deepEqual(await readFromCursor(read, "stale"), {
    page: "page from the newest",
    cursor: undefined,
  });
  await assert.rejects(readFromCursor(read, "broken"), /disk on fire/);
  assert.deepEqual(asked, ["good", undefined, "stale", undefined, "broken"]);
});
