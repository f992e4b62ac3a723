import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { Admissions } from "./auth/admissions.ts";
import { IssuedRequests } from "./auth/issued_requests.ts";
import { refuseTestRecipientAdmins, TestRecipientGuesses } from "./auth/test_recipients.ts";
import { sessionStates } from "./auth/socket_tickets.ts";
import type { Channel } from "./delivery/channel.ts";
import { consoleChannel } from "./delivery/console.ts";
import { DeliveryRouter } from "./delivery/router.ts";
import { smtpChannel } from "./delivery/smtp.ts";
import { SmsProtection } from "./delivery/sms_protection.ts";
import { TelegramGateway } from "./delivery/telegram_gateway.ts";
import { telegramGatewayChannel } from "./delivery/telegram_gateway_channel.ts";
import { twilioChannel } from "./delivery/twilio.ts";
import { httpProviderChannel } from "./delivery/http_provider.ts";
import { Deadlines } from "./jobs/timers.ts";
import { emitEvent } from "./live/emit.ts";
import { StreamSlots } from "./live/stream.ts";
import type { Logger } from "./log.ts";
import { PresenceCache } from "./presence/cache.ts";
import { PresenceHub } from "./presence/hub.ts";
import { VisibilityCache } from "./presence/visibility.ts";
import {
  type PresenceContext,
  presenceSeenBy,
  settlePresence,
  sightOf,
  socketClosed,
  socketOpened,
  socketsAlive,
} from "./presence/presence.ts";
import { createServices, type Services } from "./services.ts";
import { installHandlers } from "./telegram/bot.ts";
import { createTelegram, type TelegramRuntime } from "./telegram/runtime.ts";

/**
 * Everything routes and jobs call into: the services, plus this instance's runtimes — the
 * presence machinery, the delivery router and the Telegram bot. Core functions take only the
 * part they use (`Services`, `PresenceContext`, …); this whole shape is for the HTTP layer.
 */
export interface AppContext extends Services {
  presence: PresenceContext["presence"] & {
    /** This instance's WebSockets. */
    hub: PresenceHub;
  };
  delivery: DeliveryRouter;
  /** The Telegram bot, when `TELEGRAM_BOT_TOKEN` is set. */
  telegram: TelegramRuntime | null;
  /** Code requests per client IP admitted here and not yet seen by every read. */
  admissions: Admissions;
  /** Wrong codes per client IP noted here and not yet seen by every read. */
  failures: Admissions;
  /** Code requests this instance stored, for verifies arriving here. */
  issued: IssuedRequests;
  /** Test recipients' guesses, one at a time per recipient. */
  testGuesses: TestRecipientGuesses;
  /** SMS pumping protection (country allowlist, range caps and blocks, daily budget). */
  smsProtection: SmsProtection;
  /** The Telegram Gateway API, when `TELEGRAM_GATEWAY_TOKEN` is set. */
  gateway: TelegramGateway | null;
  /** Admin event streams open here. */
  streams: StreamSlots;
  /** Aborted by `drain()`: long-lived streams end with it. */
  closing: AbortSignal;
  /** Ends event streams and closes this instance's sockets (1001), so requests can finish. */
  drain(): void;
  /**
   * Stops what the context itself runs, in order: drains, stops Telegram and the deadlines,
   * and commits pending writes. The KV it was given stays open.
   */
  close(): Promise<void>;
}

/** What `createContext` may be given instead of what `config` says. */
export interface ContextOptions {
  clock?: Clock;
  log?: Logger;
  /** Channels to use instead of the configured SMS and email providers. */
  channels?: Channel[];
  /** Group commit of writes (default on; the benchmark measures it off too). */
  groupCommit?: boolean;
}

/**
 * Builds the context over an open KV: services first, then the runtimes, each given the
 * narrow dependencies it uses. Nothing starts here: `main.ts` starts the event tail, the
 * hub's subscription, Telegram polling, the cron jobs and the server.
 */
export async function createContext(
  config: Config,
  kv: Deno.Kv,
  options: ContextOptions = {},
): Promise<AppContext> {
  // Before anything that would need stopping is made.
  await refuseTestRecipientAdmins(kv, config);
  const services = await createServices(config, {
    kv,
    clock: options.clock,
    log: options.log,
    groupCommit: options.groupCommit,
  });
  const { clock, log, settings } = services;

  const cache = new PresenceCache(kv, () => clock.now());
  const deadlines = new Deadlines(
    clock,
    (userId) => settlePresence(presenceContext, userId).then(() => {}),
    (userId, error) =>
      log.error("presence deadline failed", { user_id: userId, error: String(error) }),
  );
  const visibility = new VisibilityCache(kv, services.sessionCache, () => clock.now());
  const presenceContext: PresenceContext = {
    ...services,
    presence: { cache, deadlines, visibility },
  };
  const hub = new PresenceHub({
    clock,
    log,
    keepAliveMs: async () => (await settings.get()).heartbeat_interval_seconds * 1000,
    sessionStates: (owners) => sessionStates(services, owners),
    opened: (socket) => socketOpened(presenceContext, socket),
    alive: (sockets) => socketsAlive(presenceContext, sockets),
    closed: (socket) => socketClosed(presenceContext, socket),
    presenceSeenBy: (viewerId, userIds) => presenceSeenBy(presenceContext, viewerId, userIds),
    sightOf: (userId) => sightOf(presenceContext, userId),
  });

  const { botToken, apiRoot } = config.telegram;
  const telegram = botToken ? createTelegram(services, { token: botToken, apiRoot }) : null;
  const gateway = config.telegramGateway ? new TelegramGateway(config.telegramGateway) : null;
  const channels = [
    ...(telegram ? [telegram.channel] : []),
    ...(gateway
      ? [telegramGatewayChannel(gateway, { callbackUrl: gatewayReportUrl(config) })]
      : []),
    ...(options.channels ?? configuredChannels(config, log)),
  ];
  const delivery = new DeliveryRouter(channels, {
    clock,
    log,
    // Dashboards show channel health live: a channel going down or coming back is an event.
    onChange: (name, health) => {
      emitEvent(services, "channel", health.ok ? "channel.up" : "channel.down", {
        channel: name,
        provider: health.provider,
        error: health.last_error,
      }).catch(() => {});
    },
  });
  if (telegram) installHandlers(telegram.bot, { ...services, delivery, telegram });

  const closing = new AbortController();
  const drain = () => {
    closing.abort();
    hub.close();
  };
  return {
    ...services,
    presence: { cache, deadlines, visibility, hub },
    delivery,
    telegram,
    admissions: new Admissions(() => clock.now()),
    failures: new Admissions(() => clock.now()),
    issued: new IssuedRequests(() => clock.now()),
    testGuesses: new TestRecipientGuesses(kv),
    smsProtection: new SmsProtection(services),
    gateway,
    streams: new StreamSlots(),
    closing: closing.signal,
    drain,
    async close() {
      drain();
      await telegram?.stop();
      gateway?.close();
      deadlines.stop();
      await services.webhooks?.stop();
      await services.sessionUse.settled();
      await services.commits.flush();
    },
  };
}

function configuredChannels(config: Config, log: Logger): Channel[] {
  const channels: Channel[] = [];
  const { sms, email } = config;
  if (sms.provider === "console") channels.push(consoleChannel("sms", log));
  if (sms.provider === "webhook") channels.push(httpProviderChannel("sms", sms));
  if (sms.provider === "twilio") {
    channels.push(twilioChannel({ ...sms, statusCallbackUrl: twilioStatusUrl(config) }));
  }
  if (email.provider === "console") channels.push(consoleChannel("email", log));
  if (email.provider === "webhook") channels.push(httpProviderChannel("email", email));
  if (email.provider === "smtp") channels.push(smtpChannel(email));
  return channels;
}

/** Where Twilio posts message statuses (the URL its signatures are made over). */
export function twilioStatusUrl(config: Config): string {
  return `${config.publicUrl}/twilio/status`;
}

/**
 * Where the Telegram Gateway posts delivery reports: only over HTTPS (the Gateway takes no
 * other callback URL), so a development `PUBLIC_URL` gets none.
 */
export function gatewayReportUrl(config: Config): string | undefined {
  const url = `${config.publicUrl}/telegram/gateway/report`;
  return url.startsWith("https://") && url.length <= 256 ? url : undefined;
}
