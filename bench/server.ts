/**
 * One server under load for `bench/mod.ts`, in its own process so the load generator does not
 * share its event loop. Modes:
 * - `bare`: `Deno.serve` answering a fixed JSON body (the HTTP ceiling);
 * - `kv`: one KV commit per request (the storage ceiling);
 * - `me`: Doorman's `GET /api/v1/me` (JWT verify + two KV reads);
 * - `request`: Doorman's `POST /api/v1/auth/otp/request` (limits, one commit, SMS webhook);
 * - `heartbeat`: `POST /api/v1/presence/heartbeat` of many signed-in users, group-committed;
 * - `heartbeat-single`: the same with one commit per heartbeat (group commit off).
 * Prints the port, then (for `me` and the heartbeats) bearer tokens on one line.
 */
import { loadConfig } from "../core/config.ts";
import { createContext } from "../core/context.ts";
import { createLogger } from "../core/log.ts";
import { loadAssets } from "../web/assets.ts";
import { createApp } from "../app.ts";

const [mode, kvPath] = Deno.args;
const kv = await Deno.openKv(kvPath);
const serve = (handler: Deno.ServeHandler) =>
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);

if (mode === "bare") {
  const server = serve(() => Response.json({ status: "ok" }));
  console.log(server.addr.port);
} else if (mode === "kv") {
  let n = 0;
  const server = serve(async () => {
    await kv.set(["bench", n++ % 1000], { at: Date.now() });
    return Response.json({ status: "ok" });
  });
  console.log(server.addr.port);
} else {
  let lastText = "";
  const sms = serve(async (req) => {
    lastText = (await req.json()).text;
    return Response.json({ ok: true });
  });
  const config = loadConfig({
    APP_ENV: "test",
    JWT_SECRET: "bench-secret-bench-secret-bench-secret",
    SMS_PROVIDER: "webhook",
    SMS_WEBHOOK_URL: `http://127.0.0.1:${sms.addr.port}/`,
    OTP_RATE_LIMIT_PER_HOUR: "1000",
    OTP_IP_RATE_LIMIT_PER_HOUR: "1000000",
    OTP_RESEND_COOLDOWN_SECONDS: "0",
  });
  const ctx = await createContext(config, kv, {
    log: createLogger({ json: true, write: () => {} }),
    groupCommit: mode !== "heartbeat-single",
  });
  const app = createApp(ctx, { assets: await loadAssets() });
  const server = serve((req, info) => app.fetch(req, { remoteAddr: info.remoteAddr }));
  console.log(server.addr.port);
  const post = async (path: string, body: unknown) =>
    await (await app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    })).json();
  const signIn = async (phone: string) => {
    const { request_id } = await post("/api/v1/auth/otp/request", { phone });
    const code = lastText.match(/code is (\d+)/)![1];
    return (await post("/api/v1/auth/otp/verify", { request_id, code })).access_token as string;
  };
  if (mode === "me") console.log(await signIn("+14155550100"));
  if (mode.startsWith("heartbeat")) {
    const tokens = [];
    for (let i = 0; i < 200; i++) tokens.push(await signIn(`+1415${2_000_000 + i}`));
    console.log(tokens.join(" "));
    // Report how many commits carried the heartbeats when the load stops.
    Deno.addSignalListener("SIGTERM", () => {
      const { commits, writes } = ctx.presence.activity.stats;
      console.error(`${mode}: ${writes} activity writes in ${commits} commits`);
      Deno.exit(0);
    });
  }
}
