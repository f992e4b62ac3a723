import assert from "node:assert/strict";
import {
  callJson,
  doormanEnv,
  type DoormanProcess,
  startDoorman,
  stopDoorman,
} from "../../bench/doorman_process.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../fakes/webhook_receiver.ts";

/** A user signed in through the API. */
export interface SignedIn {
  access_token: string;
  refresh_token: string;
  user: { id: string };
}

/**
 * Real `main.ts` processes over one KV file, with the fake SMS (and email) gateway they send
 * codes to: what the tests of guarantees across instances start from. Disposing of it stops
 * them (SIGTERM), the gateway and the KV file.
 */
export interface Instances extends AsyncDisposable {
  servers: DoormanProcess[];
  sms: WebhookReceiver;
  /**
   * Signs `phone` in with the code the gateway received: asked of `request`, verified on
   * `verify` (both the first instance unless said).
   */
  signIn(
    phone: string,
    on?: { request?: DoormanProcess; verify?: DoormanProcess },
  ): Promise<SignedIn>;
}

/** Starts `count` (2) instances named A, B, … with `env` added to the test environment. */
export async function startInstances(
  name: string,
  options: { count?: number; env?: Record<string, string> } = {},
): Promise<Instances> {
  const secret = `multi-${name}-hook-secret`;
  const dir = await Deno.makeTempDir({ prefix: `doorman_multi_${name}_` });
  const sms = startWebhookReceiver({ secret });
  const env = {
    ...doormanEnv({
      kvPath: `${dir}/kv.sqlite`,
      jwtSecret: `multi-${name}-jwt-secret-0123456789abcdef`,
      smsUrl: sms.url,
      smsSecret: secret,
    }),
    // Codes go to the same gateway by email too.
    EMAIL_PROVIDER: "webhook",
    EMAIL_WEBHOOK_URL: sms.url,
    EMAIL_WEBHOOK_SECRET: secret,
    OTP_RESEND_COOLDOWN_SECONDS: "0",
    ...options.env,
  };
  const names = Array.from({ length: options.count ?? 2 }, (_, i) => String.fromCharCode(65 + i));
  const started = await Promise.allSettled(names.map((n) => startDoorman(n, env)));
  const servers = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const stop = async () => {
    await Promise.all(servers.map((server) => stopDoorman(server, "SIGTERM")));
    await sms.close();
    await Deno.remove(dir, { recursive: true });
  };
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    servers,
    sms,
    async signIn(phone, on = {}) {
      const request = on.request ?? servers[0];
      const verify = on.verify ?? servers[0];
      const asked = await callJson(`${request.url}/api/v1/auth/otp/request`, {
        method: "POST",
        body: { phone },
      });
      assert.equal(asked.status, 202, asked.text);
      const verified = await callJson(`${verify.url}/api/v1/auth/otp/verify`, {
        method: "POST",
        body: { request_id: asked.body!.request_id, code: sms.lastCode(phone) },
      });
      assert.equal(verified.status, 200, verified.text);
      return verified.body as unknown as SignedIn;
    },
    [Symbol.asyncDispose]: stop,
  };
}
