/**
 * ═══ KV LAYOUT DEPENDENCY: keep in step with kv/keys.ts, kv/users.ts and kv/presence.ts ═══
 *
 * `deno task bench:scale` needs 100,000 users online. Signing them in through the API would
 * take minutes, so this writes them straight into KV as Doorman's own code would have left
 * them. It is the ONLY place in bench/ that knows the storage layout: when the keys, the
 * user record or the presence records change, change this function (the type imports below
 * make most changes a type error here), and nothing else in bench/.
 */
import { monotonicUlid } from "../core/ids.ts";
import { keys } from "../kv/keys.ts";
import { dueMinuteOf, type PresenceState } from "../kv/presence.ts";
import type { User } from "../kv/users.ts";

/** What to seed. */
export interface SeedOptions {
  /** Users to create, every one active and recorded online. */
  count: number;
  /** How many of them fell silent past the timeout (spread evenly through the rest). */
  expiring: number;
  /** Seeding time, ms: the others were last seen now. */
  now: number;
  /** The presence timeout in force, ms. */
  timeoutMs: number;
  /** Phone of user `i`. */
  phoneOf(i: number): string;
}

/** Users per commit: eight mutations each, under KV's 1,000 mutations per atomic operation. */
const USERS_PER_COMMIT = 100;
/** Commits in flight while seeding. */
const CONCURRENCY = 4;

/**
 * Writes `count` active users recorded online — the user, its phone index, the presence
 * state, the online index, last seen, last heartbeat, and the sweep entry filed under the
 * minute their silence runs out (with its pointer) — and raises the user and online counters
 * by as many, in commits of 100 users. Returns the ids of the expiring users.
 */
export async function seedOnlineUsers(kv: Deno.Kv, options: SeedOptions): Promise<string[]> {
  const { count, expiring, now, timeoutMs } = options;
  const nextId = monotonicUlid();
  const every = expiring > 0 ? Math.max(1, Math.floor(count / expiring)) : Infinity;
  const expiringIds: string[] = [];
  const started = performance.now();
  let next = 0;
  let lastReport = started;

  const commitBatch = async (first: number, last: number) => {
    const op = kv.atomic();
    for (let i = first; i < last; i++) {
      const id = `usr_${nextId(now)}`;
      const expires = i % every === 0 && expiringIds.length < expiring;
      if (expires) expiringIds.push(id);
      // Silent two minutes past the timeout: sweep entries are filed under the minute the
      // silence runs out, rounded up, so theirs must already have passed.
      const seen = expires ? now - timeoutMs - 120_000 : now;
      const due = dueMinuteOf(seen + timeoutMs);
      const phone = options.phoneOf(i);
      const user: User = {
        id,
        phone,
        email: null,
        telegramId: null,
        status: "active",
        role: "user",
        createdAt: seen,
        updatedAt: seen,
      };
      const state: PresenceState = { online: true, changedAt: seen, offlineAt: null };
      op.set(keys.user(id), user)
        .set(keys.userByPhone(phone), id)
        .set(keys.presenceState(id), state)
        .set(keys.presenceOnline(id), true)
        .set(keys.presenceSeen(id), new Deno.KvU64(BigInt(seen)))
        .set(keys.presenceHeartbeat(id), new Deno.KvU64(BigInt(seen)))
        .set(keys.presenceDue(due, id), true)
        .set(keys.presenceDueOf(id), due);
    }
    const n = BigInt(last - first);
    op.sum(keys.userCount(), n).sum(keys.onlineCount(), n);
    const result = await op.commit();
    if (!result.ok) throw new Error("seeding commit refused");
  };

  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      const first = next;
      next = Math.min(count, next + USERS_PER_COMMIT);
      await commitBatch(first, next);
      if (performance.now() - lastReport > 2_000) {
        lastReport = performance.now();
        console.error(`  seeding: ${next}/${count} users`);
      }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  console.error(
    `  seeding: ${count} users online (${expiring} expiring) in ${seconds.toFixed(1)} s`,
  );
  return expiringIds;
}
