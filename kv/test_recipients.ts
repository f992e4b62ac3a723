import { keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";
import { dayOf } from "./sms_protection.ts";
import type { AtomicWrites } from "./writes.ts";

/** Deleted per commit when pruning. */
const DELETE_BATCH = 500;

/** Wrong codes sent for a test recipient on the UTC day of `now`. */
export async function readTestRecipientFailures(
  kv: Deno.Kv,
  recipient: string,
  now: number,
): Promise<number> {
  const entry = await kv.get<Deno.KvU64>(keys.testRecipientFailures(dayOf(now), recipient));
  return entry.value instanceof Deno.KvU64 ? Number(entry.value.value) : 0;
}

/** Counts one wrong code for a test recipient on the day of `at`: `sum` never conflicts. */
export function addTestRecipientFailure<W extends AtomicWrites>(
  w: W,
  recipient: string,
  at: number,
): W {
  return w.sum(keys.testRecipientFailures(dayOf(at), recipient), 1n);
}

/** Deletes the counts of days before the day of `before` (`sum` keeps no `expireIn`). */
export async function pruneTestRecipientFailures(kv: Deno.Kv, before: number): Promise<number> {
  let done = 0;
  for (;;) {
    const batch: Deno.KvKey[] = [];
    const iterator = kv.list({
      start: keys.testRecipientFailuresAll(),
      end: keys.testRecipientFailuresBefore(dayOf(before)),
    }, { limit: DELETE_BATCH });
    for await (const entry of iterator) batch.push(entry.key);
    if (batch.length === 0) return done;
    await commitUnchecked("prune test recipient failures", () => {
      const op = kv.atomic();
      for (const key of batch) op.delete(key);
      return op;
    });
    done += batch.length;
    if (batch.length < DELETE_BATCH) return done;
  }
}
