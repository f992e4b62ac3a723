/**
 * The periods the overview covers, and how its chart names their buckets and places its axis
 * labels: minutes for an hour, hours for a day, days for a week, in the browser's time zone
 * (UTC until the island runs, as the server cannot know the zone).
 */

/** A period of `GET /api/v1/admin/stats?range=`. */
export type Range = "1h" | "24h" | "7d";

/** The periods in the order the toggles show them: value, toggle label, "last …" phrase. */
export const RANGES: readonly { value: Range; label: string; period: string; bucket: string }[] = [
  { value: "1h", label: "1 h", period: "last hour", bucket: "minute" },
  { value: "24h", label: "24 h", period: "last 24 h", bucket: "hour" },
  { value: "7d", label: "7 d", period: "last 7 days", bucket: "hour" },
];

/** The range's entry of `RANGES`. */
export function rangeInfo(range: Range): (typeof RANGES)[number] {
  return RANGES.find((r) => r.value === range) ?? RANGES[0];
}

/** A bucket's start as the chart reads it: local time in the browser, UTC before. */
interface Parts {
  weekday: string;
  day: number;
  hour: number;
  minute: number;
}

function partsOf(iso: string, local: boolean): Parts {
  const date = new Date(iso);
  if (!local) {
    return {
      weekday: date.toLocaleDateString("en", { weekday: "short", timeZone: "UTC" }),
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
    };
  }
  return {
    weekday: date.toLocaleDateString(undefined, { weekday: "short" }),
    day: date.getDate(),
    hour: date.getHours(),
    minute: date.getMinutes(),
  };
}

function hhmm(p: Parts): string {
  return `${String(p.hour).padStart(2, "0")}:${String(p.minute).padStart(2, "0")}`;
}

/** Where an axis label goes: the bucket's index and what it says. */
export interface Tick {
  index: number;
  label: string;
}

/**
 * The x-axis labels of a series: every 10 minutes (1h), every 3 hours (24h), or each midnight
 * (7d), named as the reader's clock names them.
 */
export function ticksOf(range: Range, starts: string[], local: boolean): Tick[] {
  const ticks: Tick[] = [];
  starts.forEach((iso, index) => {
    const p = partsOf(iso, local);
    if (range === "1h" && p.minute % 10 === 0) ticks.push({ index, label: hhmm(p) });
    // In a half-hour zone the hourly buckets start at :30, and their labels say so.
    if (range === "24h" && p.hour % 3 === 0) ticks.push({ index, label: hhmm(p) });
    if (range === "7d" && p.hour === 0) ticks.push({ index, label: `${p.weekday} ${p.day}` });
  });
  return ticks;
}

/** A bucket's name in a tooltip or summary: "14:05", "15:00", "Tue 14, 15:00". */
export function bucketLabel(range: Range, iso: string, local: boolean): string {
  const p = partsOf(iso, local);
  return range === "7d" ? `${p.weekday} ${p.day}, ${hhmm(p)}` : hhmm(p);
}

/** The smallest of 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, … at or above `n`. */
export function niceCeiling(n: number): number {
  if (n <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 4, 6, 8, 10]) if (step * magnitude >= n) return step * magnitude;
  return 10 * magnitude;
}

/** "64 %", or an em dash when there is nothing to divide by. */
export function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)} %` : "—";
}
