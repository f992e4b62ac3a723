import { keys } from "./keys.ts";
import { CONFLICT, retry } from "./retry.ts";

/**
 * Returns the stored secret `name`, creating it from `generate()` on first use. Two processes
 * starting together agree on one value: the first commit wins, the other reads it back.
 */
export function getOrCreateSecret(
  kv: Deno.Kv,
  name: "jwt_secret",
  generate: () => string,
): Promise<string> {
  return retry(`store secret "${name}"`, async () => {
    const entry = await kv.get<string>(keys.secret(name));
    if (entry.value) return entry.value;
    const value = generate();
    const result = await kv.atomic().check(entry).set(entry.key, value).commit();
    return result.ok ? value : CONFLICT;
  });
}
