import { useEffect, useState } from "preact/hooks";
import { localDateTime, localTime, utcText, utcTime, zoneName } from "./lib/format.ts";

/**
 * False on the server and in the first render in the browser, true after hydration: the
 * server cannot know the browser's time zone, so times start in UTC and turn local once the
 * island runs (hydration needs both renders to agree).
 */
export function useInBrowser(): boolean {
  const [inBrowser, setInBrowser] = useState(false);
  useEffect(() => setInBrowser(true), []);
  return inBrowser;
}

/** A moment in the browser's time zone; hovering shows it in UTC. */
export function LocalTime({ iso, date }: { iso: string; date?: boolean }) {
  const inBrowser = useInBrowser();
  const text = inBrowser ? (date ? localDateTime(iso) : localTime(iso)) : utcTime(iso);
  return <time dateTime={iso} title={utcText(iso)}>{text}</time>;
}

/**
 * The header of a time column: "Local time (GMT+2)" once in the browser; "UTC" before, when
 * that is what the column shows.
 */
export function TimeZoneNote() {
  const inBrowser = useInBrowser();
  if (!inBrowser) {
    return <span class="zone-note" data-testid="zone-note" title="Times in UTC">UTC</span>;
  }
  const zone = zoneName();
  return (
    <span
      class="zone-note"
      data-testid="zone-note"
      title={`Your browser's time zone, ${zone}. Hover a time for UTC.`}
    >
      Local time<span class="zone-offset">({zone})</span>
    </span>
  );
}
