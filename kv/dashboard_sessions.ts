import { keys } from "./keys.ts";
import { commitUnchecked } from "./retry.ts";

/** A dashboard session: a cookie bound to one sign-in (refresh family) of an admin. */
export interface DashboardSession {
  userId: string;
  familyId: string;
  createdAt: number;
  expiresAt: number;
}

/** Stores a session under the hash of its cookie value. */
export async function saveDashboardSession(
  kv: Deno.Kv,
  hash: string,
  session: DashboardSession,
): Promise<void> {
  await commitUnchecked(
    "save a dashboard session",
    () =>
      kv.atomic().set(keys.dashboardSession(hash), session, {
        expireIn: Math.max(1, session.expiresAt - session.createdAt),
      }),
  );
}

/** Reads a session by the hash of its cookie value. */
export async function getDashboardSession(
  kv: Deno.Kv,
  hash: string,
): Promise<DashboardSession | null> {
  return (await kv.get<DashboardSession>(keys.dashboardSession(hash))).value;
}

/** Forgets a session (sign-out). */
export async function deleteDashboardSession(kv: Deno.Kv, hash: string): Promise<void> {
  await commitUnchecked(
    "delete a dashboard session",
    () => kv.atomic().delete(keys.dashboardSession(hash)),
  );
}
