import assert from "node:assert/strict";
import fc from "fast-check";
import { Hono } from "hono";
import { plainUserIds, presenceQuerySchema } from "../../routes/api/v1/presence.ts";
import type { AppEnv } from "../../web/env.ts";
import { validQuery } from "../../web/middleware.ts";

/** What the schema makes of a query, read as the route reads any query that is not plain. */
async function bySchema(query: string): Promise<string[] | null> {
  let out: string[] | null = null;
  await new Hono<AppEnv>().get("/", (c) => {
    try {
      out = validQuery(c, presenceQuerySchema).user_ids;
    } catch {
      out = null;
    }
    return c.body(null, 204);
  }).request(`http://doorman.test/?${query}`);
  return out;
}

const idChar = fc.constantFrom(..."abcXYZ019_-");
const id = fc.oneof(
  fc.string({ unit: idChar, minLength: 1, maxLength: 8 }),
  fc.string({ unit: idChar, minLength: 60, maxLength: 70 }), // around the 64-character limit
  fc.constantFrom("", " ", "a b", "%2C", "%20x", "+", "é", "usr_1&x=1", "usr_1&user_ids=usr_2"),
);
const query = fc.oneof(
  fc.array(id, { maxLength: 12 }).map((ids) => `user_ids=${ids.join(",")}`),
  fc.array(fc.constantFrom("usr_1", "usr_2", "usr_3", ""), { minLength: 95, maxLength: 110 })
    .map((ids) => `user_ids=${ids.join(",")}`), // around the 100-id limit, with repeats
  fc.integer({ min: 95, max: 105 }).map((n) =>
    `user_ids=${Array.from({ length: n }, (_, i) => `usr_${i}`).join(",")}`
  ),
  fc.string(),
);

Deno.test("presence query - the plain-query fast path gives exactly the schema's list, or defers to it", async () => {
  let fast = 0;
  await fc.assert(
    fc.asyncProperty(query, async (q) => {
      const quick = plainUserIds(`http://doorman.test/api/v1/presence?${q}`);
      // Asked again (a remembered query, when it was plain), the same answer.
      assert.deepEqual(plainUserIds(`http://doorman.test/api/v1/presence?${q}`), quick, q);
      const reference = await bySchema(q);
      if (quick !== null) {
        fast++;
        assert.deepEqual(quick, reference, q);
      } else if (/^user_ids=[A-Za-z0-9_,-]*$/.test(q)) {
        // A plain query the fast path turns down is one the schema refuses too.
        assert.equal(reference, null, q);
      }
    }),
    { numRuns: 2_000 },
  );
  assert.ok(fast > 500, `the fast path answered ${fast} of 2,000`);
});

Deno.test("presence query - the fast path takes the shapes apps send and leaves the rest", () => {
  const url = (q: string) => `http://doorman.test/api/v1/presence${q}`;
  assert.deepEqual(plainUserIds(url("?user_ids=usr_a,usr_b,usr_a,,")), ["usr_a", "usr_b"]);
  for (const q of ["", "?", "?user_ids=", "?user_ids=,", "?user_ids=a%2Cb", "?x=1&user_ids=a"]) {
    assert.equal(plainUserIds(url(q)), null, q);
  }
  assert.equal(plainUserIds(url(`?user_ids=${"a".repeat(65)}`)), null);
  assert.equal(plainUserIds(url(`?user_ids=${Array.from({ length: 101 }, (_, i) => i)}`)), null);
});

Deno.test("presence query - plain queries are remembered, a bounded number of them", () => {
  const url = (n: number) =>
    `http://doorman.test/api/v1/presence?user_ids=usr_${n}a,usr_${n}b,usr_${n}a`;
  const first = plainUserIds(url(0));
  assert.deepEqual(first, ["usr_0a", "usr_0b"]);
  // The same list, not a new one: its ids are not split and hashed again.
  assert.equal(plainUserIds(url(0)), first);
  for (let n = 1; n <= 2_000; n++) {
    assert.deepEqual(plainUserIds(url(n)), [`usr_${n}a`, `usr_${n}b`]);
  }
  // Long forgotten (at most 512 are kept), and still answered right.
  const again = plainUserIds(url(0));
  assert.notEqual(again, first);
  assert.deepEqual(again, ["usr_0a", "usr_0b"]);
});
