import { getOrCreateSecret } from "../kv/secrets.ts";
import { deriveCodeKey, toBase64Url } from "./auth/codes.ts";
import type { TokenSettings } from "./auth/tokens.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { Channel } from "./delivery/channel.ts";
import { consoleChannel } from "./delivery/console.ts";
import { DeliveryRouter } from "./delivery/router.ts";
import { twilioChannel } from "./delivery/twilio.ts";
import { webhookChannel } from "./delivery/webhook.ts";
import { createLogger, type Logger } from "./log.ts";

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
}

/** Options for `createContext`; anything left out comes from `config`. */
export interface ContextOptions {
  kv?: Deno.Kv;
  clock?: Clock;
  log?: Logger;
  /** Channels to use instead of the configured providers. */
  channels?: Channel[];
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
  return {
    config,
    kv,
    clock,
    log,
    delivery: new DeliveryRouter(channels, { clock, log }),
    tokens: {
      key,
      issuer: config.publicUrl,
      audience: "doorman",
      accessTtlSeconds: config.accessTokenTtlSeconds,
    },
    codeKey: await deriveCodeKey(key),
  };
}

function configuredChannels(config: Config, log: Logger): Channel[] {
  const channels: Channel[] = [];
  const { sms, email } = config;
  if (sms.provider === "console") channels.push(consoleChannel("sms", log));
  if (sms.provider === "webhook") channels.push(webhookChannel("sms", sms));
  if (sms.provider === "twilio") channels.push(twilioChannel(sms));
  if (email.provider === "console") channels.push(consoleChannel("email", log));
  if (email.provider === "webhook") channels.push(webhookChannel("email", email));
  return channels;
}
