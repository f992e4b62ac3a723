import assert from "node:assert/strict";
import { SessionUse, USE_NOTE_INTERVAL_MS } from "../../core/auth/session_use.ts";
import { keys } from "../../kv/keys.ts";
import type { Session } from "../../kv/sessions.ts";
import type { Writes } from "../../kv/writes.ts";

function family(id: string, createdAt: number): Session {
  return { id, userId: "usr_a", createdAt, expiresAt: createdAt + 86_400_000, revokedAt: null };
}

Deno.test("SessionUse - notes each sign-in at most once a minute; notes made together share a commit", async () => {
  const commits: Writes[] = [];
  const use = new SessionUse((writes) => {
    commits.push(writes);
    return Promise.resolve();
  }, (error) => {
    throw error;
  });
  const a = family("fam_a", 0);
  const b = family("fam_b", 0);
  use.used(a, 30_000);
  await use.settled();
  assert.equal(commits.length, 0, "within a minute of its creation: nothing to note");

  for (let i = 0; i < 100; i++) {
    use.used(a, USE_NOTE_INTERVAL_MS + i);
    use.used(b, USE_NOTE_INTERVAL_MS + i);
  }
  await use.settled();
  assert.equal(commits.length, 1);
  assert.deepEqual(
    commits[0].mutations.map((m) => [m.type, m.key, m.type === "set" ? m.value : null]),
    [
      ["set", keys.sessionUsed("fam_a"), USE_NOTE_INTERVAL_MS],
      ["set", keys.sessionUsed("fam_b"), USE_NOTE_INTERVAL_MS],
    ],
  );
  assert.equal(use.lastNoted("fam_a"), USE_NOTE_INTERVAL_MS);

  use.used(a, 2 * USE_NOTE_INTERVAL_MS);
  await use.settled();
  assert.equal(commits.length, 2, "a minute later: noted again");
  const [note] = commits[1].mutations;
  assert.equal(note.type === "set" && note.expireIn, 86_400_000 - 2 * USE_NOTE_INTERVAL_MS);
});

Deno.test("SessionUse - a failed note is reported, not thrown at the request", async () => {
  const errors: unknown[] = [];
  const use = new SessionUse(() => Promise.reject(new Error("kv down")), (e) => errors.push(e));
  use.used(family("fam_a", 0), USE_NOTE_INTERVAL_MS);
  await use.settled();
  assert.equal(errors.length, 1);
});
