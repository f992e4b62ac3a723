import assert from "node:assert/strict";
import { withoutStrayEntities } from "../../core/telegram/runtime.ts";
import { startTelegramHarness } from "./helpers.ts";

// Found by tests/fuzz/api_fuzz_test.ts (seed 2047959295): entities with neither text nor
// caption made grammY's command matching throw inside the update's processing.
const strayUpdate = {
  update_id: 1,
  message: {
    message_id: 7,
    date: 1_765_000_000,
    chat: { id: 5000000001, type: "private" },
    from: { id: 5000000001, first_name: "Ada", is_bot: false },
    entities: [{ type: "bot_command", offset: 0, length: 6 }],
    contact: { phone_number: "+14155550100", first_name: "Ada", user_id: 5000000001 },
  },
};

Deno.test("telegram - an update whose entities point into no text is taken without a crash", async () => {
  await using t = await startTelegramHarness();
  const before = t.h.log.lines.length;
  const res = await t.deliver(strayUpdate);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const errors = t.h.log.lines.slice(before).filter((line) => /"level":"error"/.test(line));
  assert.deepEqual(errors, []);
});

Deno.test("withoutStrayEntities() - drops entities without a text or caption, keeps all else", () => {
  const cleaned = withoutStrayEntities(strayUpdate as never);
  assert.equal("entities" in cleaned.message!, false);
  assert.deepEqual(cleaned.message!.contact, strayUpdate.message.contact);
  const withText = { ...strayUpdate, message: { ...strayUpdate.message, text: "/start" } };
  assert.equal(withoutStrayEntities(withText as never), withText);
  // Not Telegram's shape at all (found by the fuzzer, seed 64291081): left as it is.
  const odd = { update_id: 0, message: 5e-324 };
  assert.equal(withoutStrayEntities(odd as never), odd);
});
