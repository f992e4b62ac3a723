import { useEffect, useState } from "preact/hooks";
import { ago } from "../lib/live.ts";
import { LocalTime } from "../LocalTime.tsx";
import { CHANNEL_LABELS, CHANNEL_ORDER, type ChannelName, type Stats } from "./stats.ts";

type Health = Stats["channels"][ChannelName];

/** Providers as people know them; anything else is shown by its configured name. */
const PROVIDER_NAMES: Record<string, string> = {
  bot: "bot",
  telegram_gateway: "Gateway",
  twilio: "Twilio",
};

/** "Telegram bot + Gateway", "SMS · webhook", "Email · smtp"; null when none is set. */
export function providerText(name: ChannelName, provider: string): string | null {
  const parts = provider.split(",").map((p) => p.trim()).filter((p) => p && p !== "none")
    .map((p) => PROVIDER_NAMES[p] ?? p);
  if (parts.length === 0) return null;
  const label = CHANNEL_LABELS[name];
  return name === "telegram" ? `${label} ${parts.join(" + ")}` : `${label} · ${parts.join(" + ")}`;
}

type State = "working" | "failing" | "off";

const STATES: Record<State, string> = {
  working: "Working",
  failing: "Failing",
  off: "Not configured",
};

function stateOf(health: Health): State {
  return !health.configured ? "off" : health.ok ? "working" : "failing";
}

/** Each channel: its providers, whether it works, its last success and last error. */
export function ChannelCards({ channels }: { channels: Stats["channels"] }) {
  // "3 min ago" moves on by itself.
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section class="panel ov-panel" aria-labelledby="ov-channels-title">
      <div class="ov-panel-head">
        <h2 id="ov-channels-title">Channels</h2>
        <span class="muted small">since this instance started</span>
      </div>
      <ul class="channel-cards">
        {CHANNEL_ORDER.map((name) => (
          <ChannelCard key={name} name={name} health={channels[name]} now={now} />
        ))}
      </ul>
    </section>
  );
}

function ChannelCard({ name, health, now }: { name: ChannelName; health: Health; now: number }) {
  const state = stateOf(health);
  const provider = providerText(name, health.provider);
  const several = health.provider.includes(",");
  const via = several && health.last_provider
    ? ` via ${PROVIDER_NAMES[health.last_provider] ?? health.last_provider}`
    : "";
  return (
    <li class={`channel-card channel-${state}`} data-testid={`channel-${name}`}>
      <div class="channel-card-head">
        <h3>{CHANNEL_LABELS[name]}</h3>
        <span class="channel-state" data-testid={`channel-${name}-state`}>
          <StateIcon state={state} />
          {STATES[state]}
        </span>
      </div>
      <p class="channel-provider muted" data-testid={`channel-${name}-provider`}>
        {provider ?? "No provider set"}
      </p>
      {state !== "off" && (
        <dl class="channel-times">
          <dt>Last success</dt>
          <dd data-testid={`channel-${name}-success`}>
            <Moment iso={health.last_success_at} now={now} />
            {health.last_success_at && health.ok && via}
          </dd>
          <dt>Last error</dt>
          <dd data-testid={`channel-${name}-error-at`}>
            <Moment iso={health.last_error_at} now={now} />
          </dd>
        </dl>
      )}
      {health.last_error && (
        <p class="channel-error" data-testid={`channel-${name}-error`}>
          <span class="sr-only">Last error:</span>
          {health.last_error}
        </p>
      )}
    </li>
  );
}

/** "3 min ago · 14:03:07", or "never". */
function Moment({ iso, now }: { iso: string | null; now: number }) {
  if (!iso) return <span class="muted">never</span>;
  return (
    <span>
      {ago(iso, now)}{" "}
      <span class="muted">
        · <LocalTime iso={iso} date />
      </span>
    </span>
  );
}

/** A tick, a cross or a dash in a circle: the state reads without its colour. */
function StateIcon({ state }: { state: State }) {
  const mark = state === "working"
    ? "M5 8.3 7.1 10.4 11 6"
    : state === "failing"
    ? "M5.6 5.6 10.4 10.4M10.4 5.6 5.6 10.4"
    : "M5 8h6";
  return (
    <svg class="state-icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
      <circle cx="8" cy="8" r="7" />
      <path d={mark} />
    </svg>
  );
}
