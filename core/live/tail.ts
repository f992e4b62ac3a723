import { listEventsAfter } from "../../kv/events.ts";
import { encodeTime } from "ulid";
import type { Services } from "../services.ts";
import type { LiveEvent } from "./events.ts";

/** How far back each poll looks again, for events that committed late with an earlier id. */
const OVERLAP_MS = 2_000;
/** Events read per KV list call. */
const PAGE = 500;

/**
 * Brings other instances' events onto this instance's bus by tailing the KV event log.
 * `kv.watch` does not see another process's writes to a SQLite file, so it polls (every
 * 250 ms by default); ids already seen are skipped, and this instance's own events too.
 */
export function startEventTail(
  ctx: Services,
  options: { intervalMs?: number } = {},
): () => void {
  const intervalMs = options.intervalMs ?? 250;
  const seen = new Map<string, number>();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  /** Reads the log from the overlap point; `publish: false` only marks what is there. */
  const read = async (publish: boolean) => {
    const now = ctx.clock.now();
    // Page through everything since the overlap point: a busy log never hides its newest events.
    let from = encodeTime(Math.max(0, now - OVERLAP_MS), 10);
    for (;;) {
      const events = await listEventsAfter(ctx.kv, from, PAGE);
      for (const event of events) {
        if (seen.has(event.id)) continue;
        seen.set(event.id, now);
        if (publish && event.instance !== ctx.instance) ctx.bus.publish(event as LiveEvent);
      }
      if (events.length < PAGE) break;
      from = events[events.length - 1].id;
    }
    for (const [id, at] of seen) if (at < now - 2 * OVERLAP_MS) seen.delete(id);
  };
  const loop = async () => {
    if (stopped) return;
    try {
      await read(true);
    } catch (error) {
      if (!stopped) ctx.log.warn("event tail poll failed", { error: String(error) });
    }
    if (!stopped) timer = setTimeout(loop, intervalMs);
  };
  // Skip what is already in the log: a new instance follows from now on.
  read(false)
    .catch(() => {})
    .finally(() => {
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
