import { useInBrowser } from "../LocalTime.tsx";
import type { Stats } from "./stats.ts";
import { bucketLabel, niceCeiling, percent, type Range, rangeInfo, ticksOf } from "./ranges.ts";

type Point = Stats["series"][number];

/** Where a value sits, in percent of the plot's height from its top (headroom for the top label). */
function top(value: number, max: number): number {
  return 6 + (1 - value / max) * 94;
}

const pct = (n: number) => `${n.toFixed(3)}%`;

/**
 * Codes requested and verified per bucket (wide hatched bars, narrow solid bars) and users
 * online (a line), with the axes in the reader's time zone and the same story in words.
 * Everything is placed in percent of a pixel-sized SVG (the page's CSP allows no inline
 * styles, and a stretched viewBox would squash the labels).
 */
export function ActivityChart({ range, series }: { range: Range; series: Point[] }) {
  const local = useInBrowser();
  const n = Math.max(1, series.length);
  const max = niceCeiling(
    Math.max(0, ...series.map((p) => Math.max(p.requested, p.verified, p.online))),
  );
  const x = (i: number) => (i / n) * 100;
  const ticks = ticksOf(range, series.map((p) => p.at), local);
  return (
    <figure class="ov-chart">
      <div class="ov-plot">
        <svg class="ov-y" aria-hidden="true">
          {[0, 0.5, 1].map((f) => (
            <text key={f} x="100%" y={pct(top(max * f, max))} text-anchor="end">
              {Math.round(max * f)}
            </text>
          ))}
        </svg>
        <svg
          class="ov-bars"
          role="img"
          aria-labelledby="ov-chart-summary"
          data-testid="chart"
          data-buckets={series.length}
        >
          <defs>
            <pattern
              id="ov-hatch"
              patternUnits="userSpaceOnUse"
              width="5"
              height="5"
              patternTransform="rotate(45)"
            >
              <rect class="hatch-bg" width="5" height="5" />
              <line class="hatch-line" x1="0" y1="0" x2="0" y2="5" />
            </pattern>
          </defs>
          {[0, 0.5, 1].map((f) => (
            <line
              key={f}
              class="grid"
              x1="0"
              x2="100%"
              y1={pct(top(max * f, max))}
              y2={pct(top(max * f, max))}
            />
          ))}
          {series.map((p, i) => (
            <g key={p.at}>
              <rect
                class="bar-requested"
                x={pct(x(i + 0.08))}
                width={pct(x(0.84))}
                y={pct(top(p.requested, max))}
                height={pct(100 - top(p.requested, max))}
              />
              <rect
                class="bar-verified"
                x={pct(x(i + 0.3))}
                width={pct(x(0.4))}
                y={pct(top(p.verified, max))}
                height={pct(100 - top(p.verified, max))}
              />
            </g>
          ))}
          {series.slice(1).map((p, i) => (
            <line
              key={p.at}
              class="line-online"
              x1={pct(x(i + 0.5))}
              x2={pct(x(i + 1.5))}
              y1={pct(top(series[i].online, max))}
              y2={pct(top(p.online, max))}
            />
          ))}
          {series.map((p, i) => (
            <rect key={p.at} class="hit" x={pct(x(i))} width={pct(x(1))} height="100%">
              <title>
                {`${
                  bucketLabel(range, p.at, local)
                }: ${p.requested} requested, ${p.verified} verified, ${p.online} online`}
              </title>
            </rect>
          ))}
        </svg>
        <svg class="ov-x" aria-hidden="true">
          {ticks.map((tick, i) => {
            const at = x(tick.index);
            const anchor = at < 4 ? "start" : at > 92 ? "end" : "middle";
            return (
              <text
                key={tick.index}
                class={i % 2 === 1 ? "tick-alt" : undefined}
                x={pct(at)}
                y="13"
                text-anchor={anchor}
              >
                {tick.label}
              </text>
            );
          })}
        </svg>
      </div>
      <figcaption>
        <ul class="ov-legend">
          <li>
            <svg class="swatch" aria-hidden="true" viewBox="0 0 16 12">
              <rect class="bar-requested" width="16" height="12" />
            </svg>
            Codes requested
          </li>
          <li>
            <svg class="swatch" aria-hidden="true" viewBox="0 0 16 12">
              <rect class="bar-verified" x="5" width="6" height="12" />
            </svg>
            Verified (signed in)
          </li>
          <li>
            <svg class="swatch" aria-hidden="true" viewBox="0 0 16 12">
              <line class="line-online" x1="0" x2="16" y1="6" y2="6" />
            </svg>
            Users online
          </li>
        </ul>
        <p id="ov-chart-summary" class="ov-summary" data-testid="chart-summary">
          {summaryOf(range, series, local)}
        </p>
      </figcaption>
    </figure>
  );
}

/** The chart in words, for screen readers and anyone who would rather read. */
function summaryOf(range: Range, series: Point[], local: boolean): string {
  const { period, bucket } = rangeInfo(range);
  const requested = series.reduce((sum, p) => sum + p.requested, 0);
  const verified = series.reduce((sum, p) => sum + p.verified, 0);
  const online = series.map((p) => p.online);
  const now = online.at(-1) ?? 0;
  const low = Math.min(now, ...online), high = Math.max(now, ...online);
  const people = `${now} ${now === 1 ? "user" : "users"} online now${
    low === high ? "" : ` (between ${low} and ${high} over the period)`
  }.`;
  const head = `${period[0].toUpperCase()}${period.slice(1)}, per ${bucket}:`;
  if (requested === 0 && verified === 0) return `${head} no codes requested. ${people}`;
  const busiest = series.reduce((a, b) => (b.requested > a.requested ? b : a));
  return `${head} ${requested} ${requested === 1 ? "code" : "codes"} requested, ${verified} ` +
    `verified (${percent(verified, requested)}). Busiest ${bucket}: ${
      bucketLabel(range, busiest.at, local)
    } with ${busiest.requested} requested. ${people}`;
}
