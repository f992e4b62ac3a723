import type { Harness } from "../helpers.ts";
import { call, json } from "./admin_helpers.ts";

/** The admin API's keys collection. */
export const KEYS = "/api/v1/admin/api-keys";

/** A new key with `scopes`, made by the admin's sign-in: the created answer. */
export async function createKey(
  h: Harness,
  token: string,
  scopes: string[],
  extra: Record<string, unknown> = {},
): Promise<{ key: Record<string, unknown>; secret: string }> {
  const body = await json(
    await call(h, "POST", KEYS, { token }, { name: "backend", scopes, ...extra }),
    201,
  );
  return body as { key: Record<string, unknown>; secret: string };
}
