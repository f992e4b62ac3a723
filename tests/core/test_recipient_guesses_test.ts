import assert from "node:assert/strict";
import {
  TEST_RECIPIENT_WRONG_CODES_PER_DAY,
  TestRecipientGuesses,
} from "../../core/auth/test_recipients.ts";
import { addTestRecipientFailure } from "../../kv/test_recipients.ts";

const RECIPIENT = "phone:+14155550123";
const NOW = Date.parse("2026-11-21T10:00:00.000Z");

/** Writes `n` wrong codes of the day, as verify's commits do. */
async function wrong(kv: Deno.Kv, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    assert.ok((await addTestRecipientFailure(kv.atomic(), RECIPIENT, NOW).commit()).ok);
  }
}

/**
 * One guess as verify makes it: its turn, then (when not spent) a wrong code committed before
 * the turn ends. Says whether it was checked (not spent).
 */
async function wrongGuess(guesses: TestRecipientGuesses, kv: Deno.Kv): Promise<boolean> {
  using guess = await guesses.enter(RECIPIENT, NOW);
  // A checked guess and a spent one are both wrong codes, counted in the same commit.
  await wrong(kv, 1);
  return !guess.spent;
}

Deno.test("test recipient guesses - 20 at once on one instance: exactly the day's last one is checked", async () => {
  using kv = await Deno.openKv(":memory:");
  await wrong(kv, TEST_RECIPIENT_WRONG_CODES_PER_DAY - 1);
  const guesses = new TestRecipientGuesses(kv);
  const checked = await Promise.all(Array.from({ length: 20 }, () => wrongGuess(guesses, kv)));
  assert.equal(checked.filter(Boolean).length, 1);
  assert.equal(checked[0], true, "in the order they came");
});

Deno.test("test recipient guesses - 20 at once on each of two instances: at most one more per instance", async () => {
  using kv = await Deno.openKv(":memory:");
  await wrong(kv, TEST_RECIPIENT_WRONG_CODES_PER_DAY - 1);
  const instances = [new TestRecipientGuesses(kv), new TestRecipientGuesses(kv)];
  const checked = await Promise.all(
    instances.flatMap((guesses) => Array.from({ length: 20 }, () => wrongGuess(guesses, kv))),
  );
  const n = checked.filter(Boolean).length;
  assert.ok(n >= 1 && n <= 2, `${n} guesses checked past the 9th wrong code`);
});

Deno.test("test recipient guesses - a right code is not counted, so the next guess is checked too", async () => {
  using kv = await Deno.openKv(":memory:");
  await wrong(kv, TEST_RECIPIENT_WRONG_CODES_PER_DAY - 1);
  const guesses = new TestRecipientGuesses(kv);
  const right = async () => {
    using guess = await guesses.enter(RECIPIENT, NOW);
    return !guess.spent;
  };
  assert.deepEqual(await Promise.all([right(), right(), wrongGuess(guesses, kv), right()]), [
    true,
    true,
    true,
    false,
  ]);
  // The next day starts from nothing.
  using next = await guesses.enter(RECIPIENT, NOW + 86_400_000);
  assert.equal(next.spent, false);
});
