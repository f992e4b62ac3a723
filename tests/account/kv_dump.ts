import assert from "node:assert/strict";

/** Collections that may name an erased user's id: the audit log, and copies of events about the erasure. */
const MAY_NAME_THE_ID = new Set(["audit", "instance_events", "webhook_outbox"]);

function text(value: unknown): string {
  return JSON.stringify(value, (_, v) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Deno.KvU64) return v.value.toString();
    return v;
  });
}

/**
 * Reads the whole KV and asserts that nothing names the erased user but the audit log and the
 * events that say they were erased (`user.deleted`, audit events: the id only), and that
 * their contacts appear nowhere at all. Returns how many records it read.
 */
export async function assertErased(
  kv: Deno.Kv,
  erased: { userId: string; contacts: string[] },
): Promise<number> {
  let read = 0;
  for await (const entry of kv.list({ prefix: [] })) {
    read++;
    const key = text(entry.key);
    const value = text(entry.value);
    for (const contact of erased.contacts) {
      assert.ok(!key.includes(contact) && !value.includes(contact), `${key} names ${contact}`);
    }
    if (!key.includes(erased.userId) && !value.includes(erased.userId)) continue;
    const collection = String(entry.key[0]);
    // A log entry holds one event (written before the log was batched) or a list of them:
    // each that names the user must be one that stays.
    type Logged = { kind?: string; data?: { type?: string } };
    const events = (Array.isArray(entry.value) ? entry.value : [entry.value]) as Logged[];
    const kept = MAY_NAME_THE_ID.has(collection) ||
      (collection === "events" &&
        events.every((event) =>
          !text(event).includes(erased.userId) ||
          event.data?.type === "user.deleted" || event.kind === "audit"
        ));
    assert.ok(kept, `${key} still names the erased user: ${value.slice(0, 300)}`);
  }
  return read;
}
