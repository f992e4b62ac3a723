import assert from "node:assert/strict";
import { decodeProtectedHeader } from "jose";
import { startWebhookReceiver } from "../../fakes/webhook_receiver.ts";
import {
  callJson,
  doormanEnv,
  type DoormanProcess,
  outputOf,
  startDoorman,
  stopDoorman,
  UNDER_LOAD,
} from "../../bench/doorman_process.ts";

/*
 * Two real `main.ts` processes on one KV file: a key is created on one, activated on the other
 * while clients sign in and call /me on both; not one valid token may be refused. Then the old
 * key is revoked on one, and its tokens are refused on both within a second.
 */

const HOOK_SECRET = "rotation-hook-secret";
const JWT_SECRET = "rotation-jwt-secret-0123456789abcdef-0123";
const ADMIN = "+14155550000";
const WORKERS = 6;

Deno.test("instances - rotating the signing key under load on two processes refuses no valid token; a revoked key is refused on both within 1 s", async () => {
  const dir = await Deno.makeTempDir({ prefix: "doorman_rotation_" });
  const sms = startWebhookReceiver({ secret: HOOK_SECRET });
  const servers: DoormanProcess[] = [];
  try {
    const env = {
      ...doormanEnv({
        kvPath: `${dir}/kv.sqlite`,
        jwtSecret: JWT_SECRET,
        smsUrl: sms.url,
        smsSecret: HOOK_SECRET,
      }),
      ...UNDER_LOAD,
      ADMIN_PHONES: ADMIN,
      SIGNING_KEY_PUBLISH_SECONDS: "2",
    };
    const started = await Promise.allSettled([startDoorman("A", env), startDoorman("B", env)]);
    for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
    for (const result of started) if (result.status === "rejected") throw result.reason;
    const [a, b] = servers;

    const signIn = async (server: DoormanProcess, phone: string): Promise<string> => {
      const req = await callJson(`${server.url}/api/v1/auth/otp/request`, {
        method: "POST",
        body: { phone },
      });
      assert.equal(req.status, 202, req.text);
      const code = sms.lastCode(phone);
      const verified = await callJson(`${server.url}/api/v1/auth/otp/verify`, {
        method: "POST",
        body: { request_id: req.body!.request_id, code },
      });
      assert.equal(verified.status, 200, verified.text);
      return String(verified.body!.access_token);
    };
    const me = async (server: DoormanProcess, token: string) =>
      (await callJson(`${server.url}/api/v1/me`, { method: "GET", token })).status;

    const admin = await signIn(a, ADMIN);
    const old = await signIn(a, "+14155550199");
    const oldKid = decodeProtectedHeader(old).kid!;

    let stop = false;
    const refused: string[] = [];
    const kidsSeen = new Set<string>();
    let calls = 0;
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let round = 0; !stop; round++) {
        const phone = `+1415555${String(110 + w).padStart(4, "0")}`;
        const token = await signIn(round % 2 ? a : b, phone);
        kidsSeen.add(decodeProtectedHeader(token).kid!);
        for (let i = 0; i < 4; i++) {
          for (const server of [a, b]) {
            const status = await me(server, token);
            calls++;
            if (status !== 200) {
              refused.push(`${server.name} ${status} (kid ${decodeProtectedHeader(token).kid})`);
            }
          }
        }
      }
    });

    await new Promise((r) => setTimeout(r, 800));
    const created = await callJson(`${b.url}/api/v1/admin/signing-keys`, {
      method: "POST",
      token: admin,
    });
    assert.equal(created.status, 201, created.text);
    const newKid = (created.body!.key as { kid: string }).kid;
    const early = await callJson(`${a.url}/api/v1/admin/signing-keys/${newKid}/activate`, {
      method: "POST",
      token: admin,
    });
    assert.equal(early.status, 409, early.text);
    await new Promise((r) => setTimeout(r, 2_200));
    const activated = await callJson(`${a.url}/api/v1/admin/signing-keys/${newKid}/activate`, {
      method: "POST",
      token: admin,
    });
    assert.equal(activated.status, 200, activated.text);
    await new Promise((r) => setTimeout(r, 2_000));
    stop = true;
    await Promise.all(workers);

    assert.deepEqual(refused, [], `valid tokens refused during the rotation (of ${calls} calls)`);
    assert.ok(kidsSeen.has(oldKid) && kidsSeen.has(newKid), "tokens of both keys were used");
    assert.ok(calls > 50, `load ran (${calls} calls)`);

    // Both instances have verified (and cached) the old key's token.
    assert.equal(await me(a, old), 200);
    assert.equal(await me(b, old), 200);
    const revoked = await callJson(`${b.url}/api/v1/admin/signing-keys/${oldKid}/revoke`, {
      method: "POST",
      token: admin,
    });
    assert.equal(revoked.status, 200, revoked.text);
    const since = performance.now();
    const refusedAt: Record<string, number> = {};
    while (Object.keys(refusedAt).length < 2 && performance.now() - since < 3_000) {
      for (const server of [a, b]) {
        if (refusedAt[server.name] === undefined && await me(server, old) === 401) {
          refusedAt[server.name] = performance.now() - since;
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(
      refusedAt.A !== undefined && refusedAt.A < 1_000,
      `A refused after ${refusedAt.A} ms`,
    );
    assert.ok(
      refusedAt.B !== undefined && refusedAt.B < 1_000,
      `B refused after ${refusedAt.B} ms`,
    );
    const jwks = await callJson(`${a.url}/.well-known/jwks.json`, { method: "GET" });
    assert.deepEqual((jwks.body!.keys as { kid: string }[]).map((k) => k.kid), [newKid]);
  } catch (error) {
    for (const server of servers) console.error(outputOf(server));
    throw error;
  } finally {
    for (const server of servers) await stopDoorman(server, "SIGTERM");
    await sms.close();
    await Deno.remove(dir, { recursive: true });
  }
});
