import assert from "node:assert/strict";
import { listRecentEvents } from "../../kv/events.ts";
import { keys } from "../../kv/keys.ts";
import { startWebhookReceiver } from "../../fakes/webhook_receiver.ts";
import { callJson, doormanEnv, startDoorman, stopDoorman } from "../../bench/doorman_process.ts";
import { assertErased } from "../account/kv_dump.ts";

/*
 * A real `main.ts` is killed with SIGKILL while it erases a user: after the erasure's first
 * commit, with thousands of the user's event copies and a large refresh-token collection
 * still to go through. Before the restart the user can no longer sign in or be seen; after
 * it, the start-up sweep finishes the erasure: nothing names the user but the audit trail and
 * the one `user.deleted` event, and the phone signs up as a new user. (~15 s.)
 */

const HOOK_SECRET = "erase-crash-hook-secret";
const JWT_SECRET = "erase-crash-jwt-secret-0123456789abcdef";
const PHONE = "+14155550160";
/** The user's event copies and other users' refresh tokens seeded, so the batches take time. */
const SEEDED_EVENTS = 40_000;
const SEEDED_TOKENS = 40_000;

Deno.test("crash - kill -9 in the middle of an erasure, then restart: the user is fully gone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "doorman_erase_crash_" });
  const kvPath = `${dir}/kv.sqlite`;
  const sms = startWebhookReceiver({ secret: HOOK_SECRET });
  const env = {
    ...doormanEnv({ kvPath, jwtSecret: JWT_SECRET, smsUrl: sms.url, smsSecret: HOOK_SECRET }),
    OTP_RESEND_COOLDOWN_SECONDS: "0",
  };
  let server = await startDoorman("A", env);
  const kv = await Deno.openKv(kvPath);
  try {
    const signIn = async () => {
      const requested = await callJson(`${server.url}/api/v1/auth/otp/request`, {
        method: "POST",
        body: { phone: PHONE },
      });
      assert.equal(requested.status, 202, requested.text);
      const verified = await callJson(`${server.url}/api/v1/auth/otp/verify`, {
        method: "POST",
        body: { request_id: requested.body!.request_id, code: sms.lastCode(PHONE) },
      });
      assert.equal(verified.status, 200, verified.text);
      return verified.body as { access_token: string; refresh_token: string; user: { id: string } };
    };
    const user = await signIn();
    const id = user.user.id;
    await seed(kv, id);

    // The erasure runs; the moment its first commit shows in KV, the process is killed.
    const erasing = fetch(`${server.url}/api/v1/me`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${user.access_token}` },
    }).then((res) => res.body?.cancel(), () => {});
    while ((await kv.get(keys.user(id))).versionstamp !== null) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await stopDoorman(server, "SIGKILL");
    await erasing;
    const killedAt = Date.now();

    // Halfway: the erasure's record and some of the user's records are still there…
    assert.ok((await kv.get(keys.userDeletion(id))).value, "the erasure's record is written");
    let left = 0;
    for await (const _ of kv.list({ prefix: keys.userEvents(id) }, { limit: 10 })) left++;
    assert.ok(left > 0, "killed before the batches were done");
    // …but the user is gone: no index signs them in, no record shows them.
    assert.equal((await kv.get(keys.userByPhone(PHONE))).value, null);
    assert.equal((await kv.get(keys.presenceState(id))).value, null);

    // Restarted once the erasure's settling time passed: start-up resumes and finishes it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + 5_500 - Date.now())));
    server = await startDoorman("A again", env);
    const deadline = Date.now() + 30_000;
    while ((await kv.get(keys.userDeletion(id))).versionstamp !== null) {
      assert.ok(Date.now() < deadline, "the erasure was resumed and finished");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await assertErased(kv, { userId: id, contacts: [PHONE] });
    let deletedEvents = 0;
    for (const event of await listRecentEvents(kv, Number.MAX_SAFE_INTEGER)) {
      if (event.data.type === "user.deleted" && event.data.user_id === id) deletedEvents++;
    }
    assert.equal(deletedEvents, 1);
    const refreshed = await callJson(`${server.url}/api/v1/auth/refresh`, {
      method: "POST",
      body: { refresh_token: user.refresh_token },
    });
    assert.equal(refreshed.status, 401, refreshed.text);
    const again = await signIn();
    assert.notEqual(again.user.id, id);
  } finally {
    kv.close();
    await stopDoorman(server, "SIGTERM");
    await sms.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Many copies of events about the user, and many refresh tokens of other users. */
async function seed(kv: Deno.Kv, userId: string): Promise<void> {
  const at = new Date().toISOString();
  for (let i = 0; i < SEEDED_EVENTS; i += 500) {
    const op = kv.atomic();
    for (let j = i; j < i + 500; j++) {
      const eventId = `01SEED${String(j).padStart(20, "0")}`;
      op.set(keys.userEvent(userId, eventId), {
        id: eventId,
        instance: "seed",
        kind: "presence",
        data: { type: "presence.online", at, user_id: userId },
      });
    }
    assert.ok((await op.commit()).ok);
  }
  for (let i = 0; i < SEEDED_TOKENS; i += 500) {
    const op = kv.atomic();
    for (let j = i; j < i + 500; j++) {
      op.set(keys.refreshToken(`seed-${j}`), {
        familyId: `fam_seed_${j}`,
        userId: `usr_seed_${j % 100}`,
        expiresAt: Date.now() + 3_600_000,
        rotatedAt: null,
      });
    }
    assert.ok((await op.commit()).ok);
  }
}
