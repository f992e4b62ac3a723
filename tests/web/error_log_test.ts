import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppContext } from "../../core/context.ts";
import { memoryLogger } from "../../core/log.ts";
import { InvalidCursor } from "../../kv/cursor.ts";
import { KvContention } from "../../kv/retry.ts";
import type { AppEnv } from "../../web/env.ts";
import { answerError } from "../../web/errors.ts";
import { errorOf, startHarness } from "../helpers.ts";

/** The parsed log lines whose message is not the per-request access line. */
function logged(lines: string[]): { level: string; message: string; status?: number }[] {
  return lines.map((line) => JSON.parse(line)).filter((entry) => entry.message !== "request");
}

Deno.test("error log - malformed JSON is logged as what it is, not as a contended write; still 400", async () => {
  await using h = await startHarness();
  const res = await h.app.request("/api/v1/auth/otp/request", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"phone": "+1415555',
  });
  assert.equal(res.status, 400);
  assert.equal((await errorOf(res)).code, "VALIDATION_FAILED");
  const lines = logged(h.log.lines).filter((l) => /body|contended/.test(l.message));
  assert.deepEqual(
    lines.map(({ level, message, status }) => ({ level, message, status })),
    [{ level: "info", message: "the request body is not valid JSON", status: 400 }],
  );
});

Deno.test("error log - a write given up on is a warning; an unknown cursor is the client's; answers unchanged", async () => {
  const log = memoryLogger();
  const app = new Hono<AppEnv>()
    .use(async (c, next) => {
      c.set("ctx", { log } as unknown as AppContext);
      c.set("requestId", "req_1");
      await next();
    })
    .get("/contended", () => {
      throw new KvContention("commit", 5);
    })
    .get("/cursor", () => {
      throw new InvalidCursor();
    })
    .onError(answerError);
  const contended = await app.request("/contended");
  assert.equal(contended.status, 429);
  assert.equal(contended.headers.get("retry-after"), "1");
  assert.equal((await errorOf(contended)).code, "RATE_LIMITED");
  const cursor = await app.request("/cursor");
  assert.equal(cursor.status, 400);
  assert.equal((await errorOf(cursor)).code, "VALIDATION_FAILED");
  assert.deepEqual(
    logged(log.lines).map(({ level, message }) => ({ level, message })),
    [
      { level: "warn", message: "gave up on a contended write" },
      { level: "info", message: "an unknown list cursor" },
    ],
  );
});
