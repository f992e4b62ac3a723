import { keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";

/** A dashboard session: a cookie bound to one sign-in (refresh family) of an admin. */
export interface WebSession {
  userId: string;
  familyId: string;
  createdAt: number;
  expiresAt: number;
}

/** Stores a session under the hash of its cookie value. */
export async function saveWebSession(
  kv: Deno.Kv,
  hash: string,
  session: WebSession,
): Promise<void> {
  await commitUnchecked(
    "save a dashboard session",
    () =>
      kv.atomic().set(keys.webSession(hash), session, {
        expireIn: Math.max(1, session.expiresAt - session.createdAt),
      }),
  );
}

/** Reads a session by the hash of its cookie value. */
export async function getWebSession(kv: Deno.Kv, hash: string): Promise<WebSession | null> {
  return (await kv.get<WebSession>(keys.webSession(hash))).value;
}

/** Forgets a session (sign-out). */
export async function deleteWebSession(kv: Deno.Kv, hash: string): Promise<void> {
  await commitUnchecked(
    "delete a dashboard session",
    () => kv.atomic().delete(keys.webSession(hash)),
  );
}
