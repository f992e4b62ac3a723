import { useEffect, useRef, useState } from "preact/hooks";
import { api, call } from "../components/lib/api.ts";
import { type LiveEvent, subscribe } from "../components/lib/live.ts";
import { LiveBadge } from "../components/LiveStatus.tsx";
import { ToggleChip } from "../components/ToggleChip.tsx";
import { ActivityChart } from "../components/overview/ActivityChart.tsx";
import { ChannelCards } from "../components/overview/ChannelCards.tsx";
import { percent, type Range, rangeInfo, RANGES } from "../components/overview/ranges.ts";
import { RecentActivity, withEvent } from "../components/overview/RecentActivity.tsx";
import { SignInFunnel } from "../components/overview/SignInFunnel.tsx";
import type { Stats } from "../components/overview/stats.ts";

/** The URL of the overview over `range` (the default, an hour, needs no query). */
function urlOf(range: Range): string {
  return range === "1h" ? location.pathname : `?range=${range}`;
}

/**
 * The overview over a chosen period: tiles, codes and sign-ins over time, the funnel per
 * channel, channel health and the latest events, all kept live from the admin stream.
 */
export default function LiveOverview(
  { stats: initial, range: start, events: initialEvents }: {
    stats: Stats;
    range: Range;
    events: LiveEvent[];
  },
) {
  // The period chosen (the toggles), and the one the numbers shown are of: they differ while
  // a newly chosen period loads.
  const [choice, setChoice] = useState(start);
  const [{ range, stats }, setView] = useState({ range: start, stats: initial });
  const [events, setEvents] = useState(initialEvents);
  // Events that came while the page is open: they slide in, the first ones did not.
  const fresh = useRef(new Set<string>());
  const chosen = useRef(start);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  /** Reads the stats of the period chosen; an answer for a period left meanwhile is dropped. */
  const refresh = () => {
    const asked = chosen.current;
    call(api.stats.$get({ query: { range: asked } }))
      .then((next) => {
        if (chosen.current === asked) setView({ range: asked, stats: next });
      })
      .catch(() => {});
  };

  useEffect(() => {
    // Bursts of events (a sign-in makes three) become one refresh.
    const soon = () => {
      if (pending.current !== undefined) return;
      pending.current = setTimeout(() => {
        pending.current = undefined;
        refresh();
      }, 300);
    };
    const unsubscribe = subscribe((event) => {
      fresh.current.add(event.id);
      setEvents((list) => withEvent(list, event));
      soon();
    }, refresh);
    // The series moves on every minute even when nothing happens.
    const minutely = setInterval(refresh, 60_000);
    return () => {
      unsubscribe();
      clearInterval(minutely);
      clearTimeout(pending.current);
    };
  }, []);

  const choose = (next: Range) => {
    if (next === chosen.current) return;
    chosen.current = next;
    setChoice(next);
    history.replaceState(null, "", urlOf(next));
    refresh();
  };

  const { otp, users } = stats;
  const { period } = rangeInfo(range);
  return (
    <div class="overview">
      <div class="filter-bar">
        <div class="chips" role="group" aria-label="Period">
          <span class="chips-label" aria-hidden="true">Period</span>
          {RANGES.map((r) => (
            <ToggleChip
              key={r.value}
              pressed={choice === r.value}
              onClick={() => choose(r.value)}
              testid={`range-${r.value}`}
            >
              <span aria-hidden="true">{r.label}</span>
              <span class="sr-only">{r.period}</span>
            </ToggleChip>
          ))}
        </div>
        <LiveBadge />
      </div>
      <div class="tiles">
        <Tile
          label="Online now"
          hint="right now"
          value={users.online}
          accent
          testid="tile-online"
        />
        <Tile label="Users" hint="all time" value={users.total} testid="tile-users" />
        <Tile label="Codes sent" hint={period} value={otp.sent} testid="tile-sent" />
        <Tile label="Verified" hint={period} value={otp.verified} testid="tile-verified" />
        <Tile label="Failed" hint={period} value={otp.failed} testid="tile-failed" />
        <Tile label="Rate limited" hint={period} value={otp.rate_limited} testid="tile-limited" />
        <Tile
          label="Conversion"
          hint="verified / sent"
          value={percent(otp.verified, otp.sent)}
          testid="tile-conversion"
        />
      </div>
      <div class="ov-row ov-row-chart">
        <section class="panel ov-panel" aria-labelledby="ov-chart-title">
          <div class="ov-panel-head">
            <h2 id="ov-chart-title">Codes and sign-ins</h2>
            <span class="muted small">{period}, per {rangeInfo(range).bucket}</span>
          </div>
          <ActivityChart range={range} series={stats.series} />
        </section>
        <SignInFunnel funnel={stats.funnel} channels={stats.channels} period={period} />
      </div>
      <div class="ov-row ov-row-health">
        <ChannelCards channels={stats.channels} />
        <RecentActivity events={events} fresh={fresh.current} />
      </div>
    </div>
  );
}

function Tile(
  { label, value, hint, accent, testid }: {
    label: string;
    value: number | string;
    hint: string;
    accent?: boolean;
    testid: string;
  },
) {
  return (
    <div class={`tile${accent ? " tile-accent" : ""}`}>
      <div class="tile-label">{label}</div>
      <div class="tile-value" data-testid={testid}>{value}</div>
      <div class="tile-hint" data-testid={`${testid}-period`}>{hint}</div>
    </div>
  );
}
