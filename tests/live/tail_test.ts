import assert from "node:assert/strict";
import { FakeClock } from "../../core/clock.ts";
import type { LiveEvent } from "../../core/live/events.ts";
import { startHarness, waitFor } from "../helpers.ts";

/*
 * The event tail between two instances over one KV store: an instance found late (the other
 * started moments before or after it) still gets every event logged since it started.
 */

const T0 = Date.parse("2026-12-07T10:00:00.000Z");

Deno.test("event tail - an instance that started just before this one is read from this one's start", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    // B starts first (its first look at the running instances finds nobody); A starts a moment
    // later but its clock says it started earlier, so B sees it as the older one.
    await using b = await startHarness({ kv, clock: new FakeClock(T0 + 5_000) });
    const seen: LiveEvent[] = [];
    b.ctx.bus.subscribe((event) => void seen.push(event));
    const aClock = new FakeClock(T0 + 4_000);
    await using a = await startHarness({ kv, clock: aClock });
    aClock.advance(2_000); // A's events come after B started
    const signedIn = await a.signIn("+14155550170");

    const fromA = () =>
      seen.filter((e) => e.instance === a.ctx.instance && e.data.user_id === signedIn.user.id);
    await waitFor(() => fromA().length > 0, 1_500);
    assert.ok(
      fromA().some((e) => e.data.type === "otp.verified" || e.data.type === "user.created"),
    );
  } finally {
    kv.close();
  }
});

Deno.test("event tail - an instance that started after this one is read from its first event", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await using b = await startHarness({ kv, clock: new FakeClock(T0) });
    const seen: LiveEvent[] = [];
    b.ctx.bus.subscribe((event) => void seen.push(event));
    await using a = await startHarness({ kv, clock: new FakeClock(T0 + 1_000) });
    const signedIn = await a.signIn("+14155550171");
    await waitFor(
      () => seen.some((e) => e.instance === a.ctx.instance && e.data.user_id === signedIn.user.id),
      1_500,
    );
  } finally {
    kv.close();
  }
});
