import type { AdminConfig, KvLocation } from "../core/admin/config.ts";

type Boot = AdminConfig["boot"];

const KV_WORDS: Record<KvLocation, string> = {
  file: "A file on this machine",
  memory: "In memory (gone at restart)",
  kv_connect: "A KV Connect server",
  platform: "The platform's own (Deno Deploy)",
};

/** "15 min", "30 days", "1 h 30 min": a lifetime people read at a glance. */
export function lifetime(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? "" : "s"}`;
  if (seconds >= 3_600) {
    const minutes = Math.round((seconds % 3_600) / 60);
    return `${Math.floor(seconds / 3_600)} h${minutes ? ` ${minutes} min` : ""}`;
  }
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

function provider(name: string) {
  return name === "none" ? <span class="muted">none: off</span> : <span class="mono">{name}</span>;
}

function configured(on: boolean) {
  return on ? "configured" : <span class="muted">not configured</span>;
}

/** One per line (masked recipients are not broken up), or "none". */
function list(items: string[]) {
  if (items.length === 0) return <span class="muted">none</span>;
  return items.map((item) => <span class="list-item" key={item}>{item}</span>);
}

/**
 * What Doorman was started with, read-only: only the environment changes it, at a restart.
 * Never a secret: providers by name, admins masked, test recipients only counted.
 */
export function BootConfig({ boot }: { boot: Boot }) {
  const sms = boot.sms_protection;
  return (
    <section class="panel boot" aria-labelledby="boot-title" data-testid="boot-config">
      <h2 id="boot-title">Boot configuration</h2>
      <p class="muted small boot-lead">
        Read from the environment at start; a restart with new values changes it. Secrets and tokens
        are never shown.
      </p>
      <div class="boot-groups">
        <div>
          <h3>Delivery</h3>
          <dl class="facts">
            <dt>SMS provider</dt>
            <dd data-testid="boot-sms">{provider(boot.providers.sms)}</dd>
            <dt>Email provider</dt>
            <dd data-testid="boot-email">{provider(boot.providers.email)}</dd>
            <dt>Telegram bot</dt>
            <dd>{configured(boot.providers.telegram_bot)}</dd>
            <dt>Telegram Gateway</dt>
            <dd>{configured(boot.providers.telegram_gateway)}</dd>
            <dt>Test recipients</dt>
            <dd>{boot.test_recipients}</dd>
          </dl>
        </div>
        <div>
          <h3>Sessions and access</h3>
          <dl class="facts">
            <dt>Access tokens</dt>
            <dd>{lifetime(boot.access_token_ttl_seconds)}</dd>
            <dt>Refresh tokens</dt>
            <dd>{lifetime(boot.refresh_token_ttl_seconds)}</dd>
            <dt>Admin emails</dt>
            <dd>{list(boot.admins.emails)}</dd>
            <dt>Admin phones</dt>
            <dd>{list(boot.admins.phones)}</dd>
          </dl>
        </div>
        <div>
          <h3>SMS protection</h3>
          <dl class="facts">
            <dt>Countries</dt>
            <dd>
              {sms.allowed_countries.length > 0
                ? sms.allowed_countries.join(", ")
                : <span class="muted">all</span>}
            </dd>
            <dt>Per number range</dt>
            <dd>{sms.prefix_limit_per_hour} SMS an hour</dd>
            <dt>Automatic blocks</dt>
            <dd>{sms.prefix_autoblock ? "on" : "off"}</dd>
            <dt>Daily limit</dt>
            <dd>{sms.daily_limit === null ? <span class="muted">none</span> : sms.daily_limit}</dd>
          </dl>
        </div>
        <div>
          <h3>Service</h3>
          <dl class="facts">
            <dt>Environment</dt>
            <dd>{boot.app_env}</dd>
            <dt>Public URL</dt>
            <dd>{boot.public_url}</dd>
            <dt>KV</dt>
            <dd>{KV_WORDS[boot.kv]}</dd>
            <dt>Client IP</dt>
            <dd>{boot.trust_proxy ? "X-Forwarded-For (behind a proxy)" : "The connection"}</dd>
            <dt>Event webhook</dt>
            <dd>
              {boot.event_webhook
                ? (
                  <>
                    <code>{boot.event_webhook.url}</code>
                    {boot.event_webhook.signed ? ", signed" : ", unsigned"}
                    {boot.event_webhook.types.length > 0
                      ? `, only ${boot.event_webhook.types.join(", ")}`
                      : ", every event"}
                  </>
                )
                : <span class="muted">not configured</span>}
            </dd>
          </dl>
        </div>
      </div>
    </section>
  );
}
