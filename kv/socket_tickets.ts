import { keys } from "./keys.ts";
import { commitUnchecked, retry } from "./retry.ts";

/** What a presence WebSocket ticket opens: a socket of this user's sign-in. */
export interface SocketTicket {
  userId: string;
  /** The sign-in (refresh family) the socket will belong to. */
  sid: string;
  expiresAt: number;
}

/** Stores a ticket under its hash until it expires (`expireIn` is only a lower bound). */
export async function saveSocketTicket(
  kv: Deno.Kv,
  hash: string,
  ticket: SocketTicket & { createdAt: number },
): Promise<void> {
  const { userId, sid, expiresAt, createdAt } = ticket;
  await commitUnchecked(
    "save a socket ticket",
    () =>
      kv.atomic().set(keys.socketTicket(hash), { userId, sid, expiresAt }, {
        expireIn: Math.max(1, expiresAt - createdAt),
      }),
  );
}

/**
 * Uses a ticket up and returns it, or null when there is none. Of parallel takes of one
 * ticket, on any instance, only one deletes it: the delete is checked against what it read.
 */
export async function takeSocketTicket(kv: Deno.Kv, hash: string): Promise<SocketTicket | null> {
  return await retry("use a socket ticket", async () => {
    const entry = await kv.get<SocketTicket>(keys.socketTicket(hash));
    if (entry.versionstamp === null) return null;
    // A failed check means another take deleted it first: used, not worth a second read.
    const result = await kv.atomic().check(entry).delete(entry.key).commit();
    return result.ok ? entry.value : null;
  });
}
