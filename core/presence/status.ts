import type { PresenceView } from "../../contract/api.ts";
import type { PresenceRecord, PresenceState } from "../../kv/presence.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";

/*
 * The rules of presence, derived at read time from a user's last activity and state: who is
 * online, until when, and the event and record a change makes.
 */

/** What presence is derived from. */
export interface PresenceFacts {
  seen: number | null;
  state: PresenceState | null;
}

/**
 * Online means: the account is active, and either something was seen after the last
 * deliberate offline (logout, last socket closed, suspension) less than the timeout ago, or
 * that offline's grace has not ended. Derived at read time, so it is exact whether or not any
 * job has run.
 */
export function isOnline(
  facts: PresenceFacts,
  options: { now: number; timeoutMs: number; active: boolean },
): boolean {
  if (!options.active || facts.seen === null) return false;
  return options.now < offlineFrom(facts, options.timeoutMs);
}

/**
 * When a user goes offline if nothing more is seen: the timeout after the last activity, or,
 * when nothing was seen since a deliberate offline, at its moment — or at the end of its grace
 * (a last socket closed: open until then, it counts for the whole grace, even one longer than
 * the timeout or ending after the silence since the socket's last keep-alive would).
 */
export function offlineFrom(facts: PresenceFacts, timeoutMs: number): number {
  const silence = (facts.seen ?? -Infinity) + timeoutMs;
  const offlineAt = facts.state?.offlineAt ?? null;
  if (offlineAt === null || facts.seen === null || facts.seen > offlineAt) return silence;
  return facts.state?.graceUntil ?? Math.min(silence, offlineAt);
}

export function view(userId: string, facts: PresenceFacts, online: boolean): PresenceView {
  return {
    user_id: userId,
    status: online ? "online" : "offline",
    last_seen: facts.seen === null ? null : new Date(facts.seen).toISOString(),
  };
}

export function factsOf(record: PresenceRecord): PresenceFacts {
  return { seen: record.seen, state: record.state.value };
}

export async function timeoutMs(ctx: Services): Promise<number> {
  return (await ctx.settings.get()).presence_timeout_seconds * 1000;
}

export function presenceEvent(
  ctx: Services,
  userId: string,
  online: boolean,
  at: number,
  seen: number | null,
): LiveEvent {
  return ctx.bus.newEvent("presence", online ? "presence.online" : "presence.offline", at, {
    user_id: userId,
    status: online ? "online" : "offline",
    last_seen: seen === null ? null : new Date(seen).toISOString(),
  });
}

/** The record after a commit that touched it (and maybe moved its state and sweep entry). */
export function afterCommit(
  record: PresenceRecord,
  changes: {
    at: number;
    heartbeat: boolean;
    state?: { value: PresenceState; versionstamp: string };
    dueMinute?: number | null;
  },
): PresenceRecord {
  const seen = Math.max(record.seen ?? 0, changes.at);
  return {
    seen,
    // Its versionstamp is not known here: only `fresh()` records are used for checks on it.
    seenEntry: record.seenEntry,
    heartbeat: changes.heartbeat ? Math.max(record.heartbeat ?? 0, changes.at) : record.heartbeat,
    state: changes.state ? { key: record.state.key, ...changes.state } : record.state,
    dueMinute: changes.dueMinute === undefined ? record.dueMinute : changes.dueMinute,
  };
}
