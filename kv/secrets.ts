import { keys } from "./keys.ts";

/**
 * Returns the stored secret `name`, creating it from `generate()` on first use. Two processes
 * starting together agree on one value: the first commit wins, the other reads it back.
 */
export async function getOrCreateSecret(
  kv: Deno.Kv,
  name: "jwt_secret",
  generate: () => string,
): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const entry = await kv.get<string>(keys.secret(name));
    if (entry.value) return entry.value;
    // Whoever commits first wins; the next read returns the stored value either way.
    await kv.atomic().check(entry).set(entry.key, generate()).commit();
  }
  throw new Error(`Cannot store secret "${name}": too many write conflicts`);
}
