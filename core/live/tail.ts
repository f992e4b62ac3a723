import {
  dropInstance,
  instancePositionBefore,
  listInstanceEvents,
  listInstances,
  saveInstance,
} from "../../kv/events.ts";
import type { Services } from "../services.ts";
import type { LiveEvent } from "./events.ts";

/** Events read per KV list call. */
const PAGE = 500;
/** An instance says it runs this often; unheard of for three times as long, it is gone. */
const HEARTBEAT_MS = 10_000;
const INSTANCE_TTL_MS = 3 * HEARTBEAT_MS;
/**
 * How often the list of running instances is read again: an instance started since is found
 * this late at most, and its events of that time are read then (a small list read).
 */
const DISCOVER_MS = 500;

/**
 * Brings other instances' events onto this instance's bus. Each instance's group committer
 * files its events under consecutive positions in commit order; this reads each running
 * instance's events after the last position it saw, so every event is read once, however busy
 * the log. (`kv.watch` does not see another process's writes to a SQLite file, so it polls,
 * every 250 ms by default.) It also records this instance as running while it runs.
 */
export function startEventTail(
  ctx: Services,
  options: { intervalMs?: number } = {},
): () => Promise<void> {
  const intervalMs = options.intervalMs ?? 250;
  const startedAt = ctx.clock.now();
  /** The last position read of each other instance. */
  const cursors = new Map<string, number>();
  let discoveredAt = -Infinity;
  let announcedAt = -Infinity;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();

  const announce = async () => {
    const now = performance.now();
    if (now - announcedAt < HEARTBEAT_MS) return;
    announcedAt = now;
    await saveInstance(
      ctx.kv,
      ctx.instance,
      { startedAt, seenAt: ctx.clock.now() },
      INSTANCE_TTL_MS,
    );
  };

  const discover = async () => {
    const now = performance.now();
    if (now - discoveredAt < DISCOVER_MS) return;
    discoveredAt = now;
    const running = await listInstances(ctx.kv);
    for (const [id, record] of running) {
      if (id === ctx.instance || cursors.has(id)) continue;
      // Found late (up to DISCOVER_MS after it or this one started): what it logged since this
      // instance started is read now, so nothing is missed, however they started. An instance
      // that started since is read from its first event.
      const newer = record.startedAt >= startedAt;
      cursors.set(id, newer ? -1 : await instancePositionBefore(ctx.kv, id, startedAt));
    }
    for (const id of cursors.keys()) if (!running.has(id)) cursors.delete(id);
  };

  const poll = async () => {
    await announce();
    await discover();
    for (const [id, after] of cursors) {
      let position = after;
      for (;;) {
        const page = await listInstanceEvents(ctx.kv, id, { after: position, limit: PAGE });
        for (const entry of page) ctx.bus.publish(...entry.events as LiveEvent[]);
        if (page.length > 0) position = page[page.length - 1].position;
        if (page.length < PAGE) break;
      }
      if (cursors.has(id)) cursors.set(id, position);
    }
  };

  const loop = () => {
    if (stopped) return;
    running = poll().catch((error) => {
      if (!stopped) ctx.log.warn("event tail poll failed", { error: String(error) });
    }).finally(() => {
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  loop();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
    await dropInstance(ctx.kv, ctx.instance).catch(() => {});
  };
}
