import { commitLimitsOf, GroupCommitter } from "../kv/group_commit.ts";
import { getOrCreateSecret } from "../kv/secrets.ts";
import { type CodeKey, deriveCodeKey, toBase64Url } from "./auth/codes.ts";
import { deriveRefreshKey, type RefreshKey } from "./auth/refresh_tokens.ts";
import { SessionCache } from "./auth/session_cache.ts";
import { SessionUse } from "./auth/session_use.ts";
import { ApiKeyCache } from "./auth/api_key_cache.ts";
import { AccessTokens } from "./auth/tokens.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "./config.ts";
import { EventBus } from "./live/events.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { SettingsCache } from "./settings.ts";
import { EventWebhooks } from "./event_webhooks/outbox.ts";

/**
 * The plain services every core function may use: configuration, storage, time, logging,
 * the settings in force, the keys, the event bus and the counters. They hold no reference to
 * any runtime (sockets, Telegram, delivery), so anything can depend on them without a cycle.
 * The event webhook sender is here because the group committer fills its outbox; it uses
 * nothing but KV, the clock and the log.
 */
export interface Services {
  config: Config;
  kv: Deno.Kv;
  clock: Clock;
  log: Logger;
  /** The admin settings in force (cached for a second). */
  settings: SettingsCache;
  /** Group commit: every write of a hot path goes through it. */
  commits: GroupCommitter;
  /** Sign-ins and users as authentication reads them (at most a second stale). */
  sessionCache: SessionCache;
  /** When each sign-in was last used, written at most once a minute per sign-in. */
  sessionUse: SessionUse;
  /** Server API keys as authentication reads them (at most a second stale), and their last use. */
  apiKeys: ApiKeyCache;
  /** Signs and checks access tokens. */
  tokens: AccessTokens;
  /** HMAC key codes are stored under. */
  codeKey: CodeKey;
  /** HMAC key refresh tokens are made with (they name their session; nothing stores them). */
  refreshKey: RefreshKey;
  /** This process's id in the event log. */
  instance: string;
  /** Live events of this instance and, once the log tail runs, of the others. */
  bus: EventBus;
  /** Counters for `/metrics`. */
  metrics: Metrics;
  /** Outbound event webhooks (filled by the group committer), when `EVENT_WEBHOOK_URL` is set. */
  webhooks: EventWebhooks | null;
}

/** Builds the services over an open KV; settles the signing secret (generated once in dev). */
export async function createServices(
  config: Config,
  deps: { kv: Deno.Kv; clock?: Clock; log?: Logger; groupCommit?: boolean },
): Promise<Services> {
  const { kv } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? createLogger({ json: config.appEnv === "production" });
  // Production refuses to start without JWT_SECRET (see config.ts); elsewhere one is made once.
  const secret = config.jwtSecret ??
    await getOrCreateSecret(kv, "jwt_secret", () => {
      log.warn("JWT_SECRET is not set: using a generated development secret kept in KV");
      return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    });
  const key = new TextEncoder().encode(secret);
  const instance = crypto.randomUUID();
  const webhooks: EventWebhooks | null = config.eventWebhook
    ? new EventWebhooks({
      kv,
      clock,
      log,
      instance,
      config: config.eventWebhook,
      commit: (writes): Promise<string | null> => commits.commit(writes),
    })
    : null;
  const commits = new GroupCommitter(kv, {
    grouped: deps.groupCommit ?? true,
    instance,
    // One commit in flight at a time: the requests that arrive meanwhile share the next one.
    // (Three in flight on a local file made smaller batches and more commits: slower, now
    // that a batch may carry 100 checks there.)
    limits: commitLimitsOf(kv, isLocalKv(config.kvPath)),
    outbox: webhooks ?? undefined,
  });
  return {
    config,
    kv,
    clock,
    log,
    settings: new SettingsCache(kv, config.settings, () => clock.now()),
    commits,
    sessionCache: new SessionCache(kv, () => clock.now()),
    sessionUse: new SessionUse(
      (writes) => commits.commit(writes),
      (error) => log.warn("last use of a sign-in not noted", { error: String(error) }),
    ),
    apiKeys: new ApiKeyCache(
      kv,
      () => clock.now(),
      (writes) => commits.commit(writes),
      (error) => log.warn("last use of an API key not noted", { error: String(error) }),
    ),
    tokens: await AccessTokens.create(key, {
      issuer: config.publicUrl,
      accessTtlSeconds: config.accessTokenTtlSeconds,
      kv,
      alg: config.accessTokenAlg,
      now: clock.now(),
    }),
    codeKey: await deriveCodeKey(key),
    refreshKey: await deriveRefreshKey(key),
    instance,
    bus: new EventBus(
      instance,
      () => clock.now(),
      (error) => log.error("event listener failed", { error: String(error) }),
    ),
    metrics: new Metrics(),
    webhooks,
  };
}

/** Whether KV is a file (or memory) of this process, not a KV Connect URL or Deploy's own. */
function isLocalKv(path: string | undefined): boolean {
  return path !== undefined && !path.includes("://");
}
