import assert from "node:assert/strict";
import { addTransition, readPresence } from "../../kv/presence.ts";
import { Writes } from "../../kv/writes.ts";
import { startHarness } from "../helpers.ts";

/*
 * Activity wins a race with an offline transition: a transition decided on a record read
 * before a heartbeat or before other activity must not commit; decided on a fresh read, it does.
 * (Heartbeats raise both activity entries, so an instance of an older version, which reads
 * only `presence_seen`, sees them too during a rolling upgrade.)
 */

for (const kind of ["heartbeat", "sign-in"] as const) {
  Deno.test(`presence race - a ${kind} after the read refuses the offline transition`, async () => {
    await using h = await startHarness();
    const { user, access_token } = await h.signIn("+14155550180");
    const stale = await readPresence(h.ctx.kv, user.id);
    assert.equal(stale.state.value?.online, true);
    h.clock.advance(61_000); // past the resend cooldown, still within the presence timeout
    if (kind === "heartbeat") {
      const beat = await h.post("/api/v1/presence/heartbeat", {}, { token: access_token });
      assert.equal(beat.status, 200);
    } else {
      await h.signIn("+14155550180"); // another device: activity of the other kind
    }
    const offline = (record: typeof stale) =>
      addTransition(new Writes(), {
        userId: user.id,
        record,
        next: { ...record.state.value!, online: false, changedAt: h.clock.now() },
        checkSeen: true,
      });
    // The committer answers the commit's versionstamp, or null when a check failed.
    assert.equal(await h.ctx.commits.commit(offline(stale)), null, "the stale read loses");
    const fresh = await readPresence(h.ctx.kv, user.id);
    assert.ok(fresh.seen! > stale.seen!, "last seen moved with the activity");
    assert.equal(typeof await h.ctx.commits.commit(offline(fresh)), "string", "a fresh read wins");
  });
}
