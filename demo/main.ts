/**
 * `deno task demo`: Doorman on PORT (8000), in development, with in-memory KV and simulated
 * people signing in on every channel — SMS through a fake gateway, email through a fake
 * mailbox, Telegram through the fake Bot API, all on 127.0.0.1 — so the live dashboard has
 * something to show. It prints a one-time link that signs the browser in as an admin, last,
 * again every 30 s (`DEMO_LINK_EVERY_SECONDS`) and on Enter. Ctrl-C stops everything.
 */
import { startFakeTelegram } from "../fakes/telegram.ts";
import { startWebhookReceiver } from "../fakes/webhook_receiver.ts";
import { CAST_SIZE, simulate } from "./simulator.ts";

const port = Number(Deno.env.get("PORT") ?? "8000");
const secret = crypto.randomUUID();
const inboxes = {
  sms: startWebhookReceiver({ secret }),
  email: startWebhookReceiver({ secret }),
  telegram: startFakeTelegram({ username: "doorman_demo_bot" }),
};

// Quick presence changes, so people going quiet show within half a minute, and room for the
// cast's frequent visits under the per-recipient code limit (unless set).
const defaults = {
  PRESENCE_TIMEOUT_SECONDS: "30",
  HEARTBEAT_INTERVAL_SECONDS: "10",
  OTP_RATE_LIMIT_PER_HOUR: "30",
};
for (const [name, value] of Object.entries(defaults)) {
  if (!Deno.env.has(name)) Deno.env.set(name, value);
}
const demo = {
  APP_ENV: "development",
  DEMO: "true",
  KV_PATH: ":memory:",
  PUBLIC_URL: `http://localhost:${port}`,
  // Each simulated person comes from a client IP of their own.
  TRUST_PROXY: "true",
  SMS_PROVIDER: "webhook",
  SMS_WEBHOOK_URL: inboxes.sms.url,
  SMS_WEBHOOK_SECRET: secret,
  EMAIL_PROVIDER: "webhook",
  EMAIL_WEBHOOK_URL: inboxes.email.url,
  EMAIL_WEBHOOK_SECRET: secret,
  TELEGRAM_BOT_TOKEN: inboxes.telegram.token,
  TELEGRAM_API_ROOT: inboxes.telegram.apiRoot,
};
for (const [name, value] of Object.entries(demo)) Deno.env.set(name, value);

// Doorman itself, as `deno task start` runs it (it stops the process on Ctrl-C, and exits 1
// when PORT is taken). Its own listener, not whatever answers on the port, starts the people.
const { dashboardLink, listening } = await import("../main.ts");
const baseUrl = `http://127.0.0.1:${(await listening).port}`;
simulate({ baseUrl, inboxes });
console.log(`Simulating ${CAST_SIZE} people signing in by SMS, email and Telegram. Ctrl-C stops.`);

// The link, last; then again now and then in one line (the log scrolls fast), and at once on
// Enter: the same link while it is unused, a new one once it was used or runs out.
const every = Number(Deno.env.get("DEMO_LINK_EVERY_SECONDS") ?? "") || 30;
let link = await dashboardLink();
console.log(
  `\nOpen the live dashboard (a one-time link; Enter prints a new one once it is used):\n` +
    `  ${link.url}\n`,
);
const reprint = async () => {
  link = await dashboardLink(link.token);
  console.log(`>>> Dashboard (one-time link; Enter: a new one): ${link.url}`);
};
setInterval(() => reprint().catch(() => {}), every * 1000);
(async () => {
  for await (const _ of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) await reprint();
})().catch(() => {});
