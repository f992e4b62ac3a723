import assert from "node:assert/strict";
import { decodeTime, encodeTime, monotonicUlid, newId, ulid } from "../../core/ids.ts";

Deno.test("ids - ULIDs: 26 Crockford characters whose first 10 are the time", () => {
  const at = Date.parse("2026-11-21T10:00:00.000Z");
  const id = ulid(at);
  assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(decodeTime(id), at);
  assert.equal(encodeTime(0), "0000000000");
  assert.equal(encodeTime(1469918176385), "01ARYZ6S41", "the spec's example");
  assert.match(newId("usr", at), /^usr_[0-9A-HJKMNP-TV-Z]{26}$/);
  const ids = new Set(Array.from({ length: 10_000 }, () => ulid(at)));
  assert.equal(ids.size, 10_000, "80 random bits: no repeats");
});

Deno.test("ids - monotonic ULIDs increase within a millisecond and across the clock going back", () => {
  const next = monotonicUlid();
  const at = Date.parse("2026-11-21T10:00:00.000Z");
  const made = [next(at), next(at), next(at), next(at - 5), next(at + 1)];
  for (let i = 1; i < made.length; i++) assert.ok(made[i - 1] < made[i], made.join(" "));
  assert.equal(decodeTime(made[3]), at, "an earlier time keeps the last one");
});
