import type { InferResponseType } from "hono/client";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, call } from "./lib/api.ts";
import { subscribe } from "./lib/live.ts";
import { LiveBadge } from "./LiveStatus.tsx";

/** `GET /api/v1/admin/stats` (README, "What an admin sees"). */
export type Stats = InferResponseType<typeof api.stats.$get, 200>;

/** The overview: tiles, the last hour per minute, and channel health, all kept live. */
export default function LiveOverview({ stats: initial }: { stats: Stats }) {
  const [stats, setStats] = useState(initial);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    const refresh = () => {
      call(api.stats.$get()).then(setStats).catch(() => {});
    };
    // Bursts of events (a sign-in makes three) become one refresh.
    const soon = () => {
      if (pending.current !== undefined) return;
      pending.current = setTimeout(() => {
        pending.current = undefined;
        refresh();
      }, 300);
    };
    const unsubscribe = subscribe(soon, refresh);
    // The series moves on every minute even when nothing happens.
    const minutely = setInterval(refresh, 60_000);
    return () => {
      unsubscribe();
      clearInterval(minutely);
    };
  }, []);

  const { otp, users } = stats;
  const conversion = otp.sent > 0 ? `${Math.round((otp.verified / otp.sent) * 100)} %` : "—";
  return (
    <div class="overview">
      <div class="section-head">
        <h2>Right now</h2>
        <LiveBadge />
      </div>
      <div class="tiles">
        <Tile label="Online now" value={users.online} accent testid="tile-online" />
        <Tile label="Users" value={users.total} testid="tile-users" />
        <Tile label="Codes sent" hint="last hour" value={otp.sent} testid="tile-sent" />
        <Tile label="Verified" hint="last hour" value={otp.verified} testid="tile-verified" />
        <Tile label="Failed" hint="last hour" value={otp.failed} testid="tile-failed" />
        <Tile
          label="Rate limited"
          hint="last hour"
          value={otp.rate_limited}
          testid="tile-limited"
        />
        <Tile
          label="Conversion"
          hint="verified / sent"
          value={conversion}
          testid="tile-conversion"
        />
      </div>
      <div class="panels">
        <section class="panel chart-panel">
          <h2>Last hour</h2>
          <Chart series={stats.series} />
        </section>
        <section class="panel">
          <h2>Channels</h2>
          <ul class="channels">
            {Object.entries(stats.channels).map(([name, channel]) => (
              <li key={name} data-testid={`channel-${name}`}>
                <span
                  class={`dot ${
                    !channel.configured ? "dot-off" : channel.ok ? "dot-ok" : "dot-bad"
                  }`}
                  aria-hidden="true"
                />
                <span class="channel-name">{CHANNEL_NAMES[name] ?? name}</span>
                <span class="muted">
                  {!channel.configured ? "not configured" : channel.ok ? "healthy" : "failing"}
                </span>
                {channel.last_error && <span class="error-text">{channel.last_error}</span>}
              </li>
            ))}
          </ul>
        </section>
      </div>
    </div>
  );
}

function Tile(
  { label, value, hint, accent, testid }: {
    label: string;
    value: number | string;
    hint?: string;
    accent?: boolean;
    testid: string;
  },
) {
  return (
    <div class={`tile${accent ? " tile-accent" : ""}`}>
      <div class="tile-label">{label}</div>
      <div class="tile-value" data-testid={testid}>{value}</div>
      <div class="tile-hint">{hint ?? "\u00a0"}</div>
    </div>
  );
}

const CHANNEL_NAMES: Record<string, string> = { telegram: "Telegram", sms: "SMS", email: "Email" };

/** The smallest of 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, … at or above `n`. */
export function niceCeiling(n: number): number {
  if (n <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 4, 6, 8, 10]) if (step * magnitude >= n) return step * magnitude;
  return 10 * magnitude;
}

const W = 640;
const H = 180;
const PAD = { left: 28, right: 8, top: 10, bottom: 22 };

/** Codes requested and verified per minute (bars) and users online (line), last 60 minutes. */
function Chart({ series }: { series: Stats["series"] }) {
  // A round top (4, 6, 8, 10, 20, …) so the three grid lines read as whole numbers.
  const peak = Math.max(...series.map((p) => Math.max(p.requested, p.verified, p.online)), 0);
  const max = niceCeiling(peak);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(1, series.length);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const line = series.map((p, i) =>
    `${i === 0 ? "M" : "L"}${(PAD.left + i * step + step / 2).toFixed(1)},${y(p.online).toFixed(1)}`
  ).join(" ");
  const last = series.at(-1);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label="Codes and online users per minute, last hour"
      >
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} />
            <text class="axis" x={PAD.left - 4} y={y(max * f) + 3} text-anchor="end">
              {Math.round(max * f)}
            </text>
          </g>
        ))}
        {series.map((p, i) => (
          <g key={p.minute}>
            <rect
              class="bar-requested"
              x={PAD.left + i * step + 1}
              y={y(p.requested)}
              width={Math.max(1, step / 2 - 1)}
              height={PAD.top + plotH - y(p.requested)}
            />
            <rect
              class="bar-verified"
              x={PAD.left + i * step + step / 2}
              y={y(p.verified)}
              width={Math.max(1, step / 2 - 1)}
              height={PAD.top + plotH - y(p.verified)}
            />
          </g>
        ))}
        <path class="line-online" d={line} fill="none" />
        <text class="axis" x={PAD.left} y={H - 6}>-60 min</text>
        <text class="axis" x={W - PAD.right} y={H - 6} text-anchor="end">now</text>
      </svg>
      <figcaption class="legend">
        <span>
          <i class="key key-requested" /> codes requested
        </span>
        <span>
          <i class="key key-verified" /> verified
        </span>
        <span>
          <i class="key key-online" /> online{last ? ` (${last.online})` : ""}
        </span>
      </figcaption>
    </figure>
  );
}
