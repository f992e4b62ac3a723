import { keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";
import type { AtomicWrites } from "./writes.ts";

/** A one-time dashboard sign-in link of `deno task demo`, stored under the hash of its token. */
export interface DemoLink {
  expiresAt: number;
}

/** Stores a link until it expires (reads check `expiresAt` too: `expireIn` is a lower bound). */
export async function saveDemoLink(
  kv: Deno.Kv,
  hash: string,
  link: DemoLink & { createdAt: number },
): Promise<void> {
  const { expiresAt, createdAt } = link;
  await commitUnchecked(
    "save a demo link",
    () =>
      kv.atomic().set(keys.demoLink(hash), { expiresAt }, {
        expireIn: Math.max(1, expiresAt - createdAt),
      }),
  );
}

/** Reads a link by the hash of its token (its versionstamp guards the use). */
export function getDemoLink(kv: Deno.Kv, hash: string): Promise<Deno.KvEntryMaybe<DemoLink>> {
  return kv.get<DemoLink>(keys.demoLink(hash));
}

/** Uses a link up: of the commits that read it, only one can delete it. */
export function addConsumeDemoLink<W extends AtomicWrites>(w: W, entry: Deno.KvEntry<DemoLink>): W {
  return w.check(entry).delete(entry.key);
}
