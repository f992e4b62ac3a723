import type { StoredEvent } from "../../kv/stored_event.ts";
import {
  addDelivered,
  addGivenUp,
  addMove,
  addRetry,
  type HeldEntry,
  listDueEntries,
  type Outbox,
  type OutboxEntry,
  settlePendingCount,
} from "../../kv/event_webhooks.ts";
import { Writes } from "../../kv/writes.ts";
import type { Clock } from "../clock.ts";
import type { EventWebhookConfig } from "../config.ts";
import { decodeTime } from "../ids.ts";
import { Deadlines } from "../jobs/timers.ts";
import type { Logger } from "../log.ts";
import { EVENT_TIMEOUT_MS, type EventSender, eventSender } from "./send.ts";

const HOUR_MS = 3_600_000;
/** A new event is this instance's to send first; after this any instance's sweep takes it. */
export const PROMPT_MS = 10_000;
/** A claim holds an entry this long: well past a send's timeout, so one sender at a time. */
export const LEASE_MS = 30_000;
/** Room left before `dueAt` for clock skew between instances, when a send goes unclaimed. */
const CLAIM_MARGIN_MS = 2_000;
/** Tries stop this long after the event. */
export const GIVE_UP_MS = 24 * HOUR_MS;
/** POSTs in flight at once. */
const CONCURRENCY = 4;
/** Entries held in memory (queued, waiting for their time, or in flight); the rest wait in KV. */
const MAX_HELD = 1_000;
/** The sweep also takes what falls due before the next sweep, to send it on time. */
const LOOKAHEAD_MS = 65_000;
/** Entries one sweep reads at most. */
const SWEEP_PAGE = 500;

/** The wait before try `attempts + 1`: 5 s, 20 s, 80 s, … growing fourfold, at most an hour. */
export function retryDelay(attempts: number): number {
  return Math.min(HOUR_MS, 5_000 * 4 ** Math.max(0, attempts - 1));
}

/** Whether a type is one of `patterns` (`otp.verified`, `presence.*`, `*`); none: every type. */
export function typeFilter(patterns: string[]): (type: string) => boolean {
  if (patterns.length === 0) return () => true;
  const exact = new Set(patterns.filter((p) => !p.endsWith("*")));
  const prefixes = patterns.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1));
  return (type) => exact.has(type) || prefixes.some((prefix) => type.startsWith(prefix));
}

/**
 * Outbound event webhooks. Each event that goes out gets an outbox entry in the commit that
 * logs it (the group committer asks `entryFor`); once that commit is durable this instance
 * sends it at once, a few at a time. The per-minute sweep of every instance takes what is
 * left — after a restart, from an instance that died, retries coming due. Whoever sends an
 * entry first claims it with a versionstamp check and a lease (the entry moves to the lease's
 * end), so two instances do not send one event at once; a sender that dies leaves an entry
 * that falls due again when its lease ends. Delivery is at least once.
 */
export class EventWebhooks implements Outbox {
  readonly #kv: Deno.Kv;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #instance: string;
  readonly #commit: (writes: Writes) => Promise<string | null>;
  readonly #accepts: (type: string) => boolean;
  readonly #send: EventSender;
  readonly #deadlines: Deadlines;
  readonly #queue: HeldEntry[] = [];
  /** Entries waiting for their time on a deadline, by event id. */
  readonly #waiting = new Map<string, HeldEntry>();
  /** Ids queued or in flight. */
  readonly #busy = new Set<string>();
  #running = 0;
  /** The last sweep filled its page: sweep again once the queue drains. */
  #backlog = false;
  #sweeping: Promise<number> | null = null;
  #stopped = false;
  #idle: (() => void)[] = [];

  constructor(deps: {
    kv: Deno.Kv;
    clock: Clock;
    log: Logger;
    instance: string;
    config: EventWebhookConfig;
    commit: (writes: Writes) => Promise<string | null>;
    send?: EventSender;
  }) {
    this.#kv = deps.kv;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#instance = deps.instance;
    this.#commit = deps.commit;
    this.#accepts = typeFilter(deps.config.types);
    this.#send = deps.send ?? eventSender({ ...deps.config, now: () => deps.clock.now() });
    this.#deadlines = new Deadlines(
      deps.clock,
      (id) => {
        const held = this.#waiting.get(id);
        this.#waiting.delete(id);
        if (held) this.#enqueue(held);
      },
      (id, error) =>
        this.#log.warn("event webhook deadline failed", { event_id: id, error: String(error) }),
    );
  }

  entryFor(event: StoredEvent): OutboxEntry | null {
    const { type, at, ...data } = event.data;
    if (!this.#accepts(type)) return null;
    // Ids are ULIDs of the moment the event was made (its `at` may lie in the past).
    const createdAt = decodeTime(event.id);
    return {
      event: { id: event.id, type, at, data },
      createdAt,
      dueAt: createdAt + PROMPT_MS,
      attempts: 0,
      leasedBy: null,
      lastError: null,
    };
  }

  committed(held: HeldEntry[]): void {
    for (const one of held) this.#enqueue(one);
  }

  /**
   * Takes every entry due now and holds those due before the next sweep (the cron job, and
   * once at start). Returns how many it queued. (Old hourly counts go with the counters
   * prune job, core/jobs/prune.ts.)
   */
  async sweep(): Promise<number> {
    const taken = await this.#sweepOnce();
    if (await settlePendingCount(this.#kv)) {
      this.#log.info("event webhook pending count reset: the outbox is empty");
    }
    return taken;
  }

  /** Resolves once nothing is queued or in flight (entries waiting for their time may remain). */
  settled(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0 && !this.#sweeping) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Takes nothing more and waits for the sends in flight (each ends within its timeout). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#deadlines.stop();
    this.#waiting.clear();
    for (const held of this.#queue.splice(0)) this.#busy.delete(held.entry.event.id);
    await this.settled();
  }

  /** How many entries this instance holds in memory. */
  get #held(): number {
    return this.#busy.size + this.#waiting.size;
  }

  #known(id: string): boolean {
    return this.#busy.has(id) || this.#waiting.has(id);
  }

  /** One page of the outbox, one at a time (a sweep while one runs joins it). */
  #sweepOnce(): Promise<number> {
    this.#sweeping ??= this.#takeDue().finally(() => {
      this.#sweeping = null;
      this.#pump();
    });
    return this.#sweeping;
  }

  async #takeDue(): Promise<number> {
    const room = MAX_HELD - this.#held;
    if (this.#stopped || room <= 0) return 0;
    const now = this.#clock.now();
    const limit = Math.min(SWEEP_PAGE, room);
    const listed = await listDueEntries(this.#kv, { upTo: now + LOOKAHEAD_MS, limit });
    let taken = 0;
    for (const held of listed) {
      if (this.#known(held.entry.event.id)) continue;
      if (held.entry.dueAt <= now) taken += this.#enqueue(held) ? 1 : 0;
      else this.#wait(held);
    }
    this.#backlog = listed.length === limit && taken > 0;
    return taken;
  }

  #enqueue(held: HeldEntry): boolean {
    const id = held.entry.event.id;
    if (this.#stopped || this.#busy.has(id) || this.#held >= MAX_HELD) return false;
    this.#waiting.delete(id);
    this.#deadlines.cancel(id);
    this.#busy.add(id);
    this.#queue.push(held);
    this.#pump();
    return true;
  }

  /** Holds an entry until its time, if that comes before the next sweep and there is room. */
  #wait(held: HeldEntry): void {
    const id = held.entry.event.id;
    const soon = held.entry.dueAt - this.#clock.now() <= LOOKAHEAD_MS;
    if (this.#stopped || !soon || this.#known(id) || this.#held >= MAX_HELD) return;
    this.#waiting.set(id, held);
    this.#deadlines.schedule(id, held.entry.dueAt);
  }

  #pump(): void {
    while (this.#running < CONCURRENCY && this.#queue.length > 0) {
      const held = this.#queue.shift()!;
      this.#running++;
      this.#deliver(held)
        .catch((error) =>
          this.#log.warn("event webhook outbox write failed", {
            event_id: held.entry.event.id,
            error: String(error),
          })
        )
        .finally(() => {
          this.#running--;
          this.#busy.delete(held.entry.event.id);
          this.#pump();
        });
    }
    if (this.#running > 0 || this.#queue.length > 0 || this.#sweeping) return;
    if (this.#backlog && !this.#stopped) {
      this.#backlog = false;
      this.#sweepOnce().catch((error) =>
        this.#log.warn("event webhook sweep failed", { error: String(error) })
      );
      return;
    }
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Claims an entry (unless it is still this instance's alone), sends it, records how it went. */
  async #deliver(held: HeldEntry): Promise<void> {
    const now = this.#clock.now();
    let mine = held;
    // Not yet due, the entry is this instance's own, fresh from its commit: no sweep takes it
    // before `dueAt`, and the send ends (timeout) well before then, so it needs no claim —
    // one commit less per event. Anything later is claimed first.
    if (now + EVENT_TIMEOUT_MS + CLAIM_MARGIN_MS > held.entry.dueAt) {
      const leased: OutboxEntry = {
        ...held.entry,
        dueAt: now + LEASE_MS,
        leasedBy: this.#instance,
      };
      const claimed = await this.#commit(addMove(new Writes(), held, leased));
      // Sent, or being sent, by someone else.
      if (!claimed) return;
      mine = { entry: leased, versionstamp: claimed };
    }
    const leased = mine.entry;
    const { event } = leased;
    const outcome = await this.#send(event);
    const at = this.#clock.now();
    if (outcome.ok) {
      await this.#commit(addDelivered(new Writes(), mine, at));
      return;
    }
    const failure = { at, error: outcome.error };
    const attempts = leased.attempts + 1;
    const next = at + retryDelay(attempts);
    if (next > leased.createdAt + GIVE_UP_MS) {
      this.#log.error("event webhook delivery given up", {
        event_id: event.id,
        status: outcome.status,
        attempts,
      });
      await this.#commit(addGivenUp(new Writes(), mine, failure));
      return;
    }
    this.#log.warn("event webhook delivery failed", { event_id: event.id, status: outcome.status });
    const retry: OutboxEntry = {
      ...leased,
      attempts,
      dueAt: next,
      leasedBy: null,
      lastError: outcome.error,
    };
    const versionstamp = await this.#commit(addRetry(new Writes(), mine, retry, failure));
    this.#busy.delete(event.id);
    if (versionstamp) this.#wait({ entry: retry, versionstamp });
  }
}
