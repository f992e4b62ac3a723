import { getOrCreateSecret } from "../kv/secrets.ts";
import { deriveCodeKey, toBase64Url } from "./auth/codes.ts";
import type { TokenSettings } from "./auth/tokens.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { Channel } from "./delivery/channel.ts";
import { consoleChannel } from "./delivery/console.ts";
import { DeliveryRouter } from "./delivery/router.ts";
import { smtpChannel } from "./delivery/smtp.ts";
import { twilioChannel } from "./delivery/twilio.ts";
import { webhookChannel } from "./delivery/webhook.ts";
import { Deadlines } from "./jobs/timers.ts";
import { emitEvent } from "./live/emit.ts";
import { EventBus } from "./live/events.ts";
import { Metrics } from "./metrics.ts";
import { createLogger, type Logger } from "./log.ts";
import { ActivityBatcher } from "./presence/batcher.ts";
import { PresenceHub } from "./presence/hub.ts";
import { startEventTail } from "./live/tail.ts";
import { settlePresence } from "./presence/presence.ts";
import { SettingsCache } from "./settings.ts";
import { loadAssets } from "./web/assets.ts";
import type { WebAssets } from "./web/render.tsx";
import { createTelegram, type TelegramRuntime } from "./telegram/runtime.ts";

/** Everything a service needs, built once in `main.ts` (and by tests, with fakes). */
export interface AppContext {
  config: Config;
  kv: Deno.Kv;
  clock: Clock;
  log: Logger;
  delivery: DeliveryRouter;
  tokens: TokenSettings;
  /** HMAC key codes are stored under. */
  codeKey: CryptoKey;
  /** The admin settings in force (cached for a second). */
  settings: SettingsCache;
  /** This process's id in the event log. */
  instance: string;
  /** Live events of this instance and, through the log tail, of the others. */
  bus: EventBus;
  presence: PresenceRuntime;
  /** Counters for `/metrics`. */
  metrics: Metrics;
  /** The Telegram bot, when `TELEGRAM_BOT_TOKEN` is set. */
  telegram?: TelegramRuntime;
  /** The browser bundle and stylesheet URLs of the dashboard. */
  assets: WebAssets;
  /** Aborted by `close()`: long-lived streams end with it. */
  closing: AbortSignal;
  /** Stops this context's timers and background loops (not the KV it was given). */
  close(): Promise<void>;
}

/** In-process presence machinery: group commits, offline deadlines, this instance's sockets. */
export interface PresenceRuntime {
  batcher: ActivityBatcher;
  deadlines: Deadlines;
  hub: PresenceHub;
}

/** Options for `createContext`; anything left out comes from `config`. */
export interface ContextOptions {
  kv?: Deno.Kv;
  clock?: Clock;
  log?: Logger;
  /** Channels to use instead of the configured providers. */
  channels?: Channel[];
  /** Follow other instances' events through the KV log (default true). */
  tailEvents?: boolean;
  /** Dashboard assets; read from the build manifest when left out. */
  assets?: WebAssets;
}

/** Opens KV, settles the server secret and builds the delivery channels. */
export async function createContext(
  config: Config,
  options: ContextOptions = {},
): Promise<AppContext> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger({ json: config.appEnv === "production" });
  const kv = options.kv ?? await Deno.openKv(config.kvPath);
  // Production refuses to start without JWT_SECRET (see config.ts); elsewhere one is made once.
  const secret = config.jwtSecret ??
    await getOrCreateSecret(kv, "jwt_secret", () => {
      log.warn("JWT_SECRET is not set: using a generated development secret kept in KV");
      return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    });
  const key = new TextEncoder().encode(secret);
  const channels = options.channels ?? configuredChannels(config, log);
  const instance = crypto.randomUUID();
  const closers: (() => void | Promise<void>)[] = [];
  const closing = new AbortController();
  const ctx: AppContext = {
    config,
    kv,
    clock,
    log,
    // Set right below: the Telegram channel needs the finished context.
    delivery: undefined as unknown as DeliveryRouter,
    tokens: {
      key,
      issuer: config.publicUrl,
      audience: "doorman",
      accessTtlSeconds: config.accessTokenTtlSeconds,
    },
    codeKey: await deriveCodeKey(key),
    assets: options.assets ?? await loadAssets(),
    settings: new SettingsCache(kv, config.settings, () => clock.now()),
    instance,
    metrics: new Metrics(),
    bus: new EventBus(
      instance,
      () => clock.now(),
      (error) => log.error("event listener failed", { error: String(error) }),
    ),
    presence: {
      batcher: new ActivityBatcher(kv),
      deadlines: new Deadlines(
        clock,
        (userId) => settlePresence(ctx, userId).then(() => {}),
        (userId, error) =>
          log.error("presence deadline failed", { user_id: userId, error: String(error) }),
      ),
      // Set right below: the hub needs the finished context.
      hub: undefined as unknown as PresenceHub,
    },
    closing: closing.signal,
    async close() {
      closing.abort();
      ctx.presence.deadlines.stop();
      ctx.presence.hub.close();
      await Promise.all(closers.splice(0).map((close) => close()));
    },
  };
  ctx.presence.hub = new PresenceHub(ctx);
  const telegram = config.telegram.botToken
    ? createTelegram(ctx, config.telegram.botToken)
    : undefined;
  if (telegram) {
    ctx.telegram = telegram;
    closers.push(() => telegram.stop());
  }
  ctx.delivery = new DeliveryRouter(
    telegram ? [telegram.channel, ...channels] : channels,
    {
      clock,
      log,
      // Dashboards show channel health live: a channel going down or coming back is an event.
      onChange: (name, health) => {
        emitEvent(ctx, "channel", health.ok ? "channel.up" : "channel.down", {
          channel: name,
          provider: health.provider,
          error: health.last_error,
        }).catch(() => {});
      },
    },
  );
  if (options.tailEvents ?? true) closers.push(startEventTail(ctx));
  return ctx;
}

function configuredChannels(config: Config, log: Logger): Channel[] {
  const channels: Channel[] = [];
  const { sms, email } = config;
  if (sms.provider === "console") channels.push(consoleChannel("sms", log));
  if (sms.provider === "webhook") channels.push(webhookChannel("sms", sms));
  if (sms.provider === "twilio") channels.push(twilioChannel(sms));
  if (email.provider === "console") channels.push(consoleChannel("email", log));
  if (email.provider === "webhook") channels.push(webhookChannel("email", email));
  if (email.provider === "smtp") channels.push(smtpChannel(email));
  return channels;
}
