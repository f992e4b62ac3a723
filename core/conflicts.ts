import { AppError } from "./errors.ts";

/** Write conflicts tolerated before giving up on one request. */
export const MAX_CONFLICTS = 24;

/**
 * Waits a little after the `attempt`-th lost write race: a random pause that grows with each
 * loss, so writers racing for one key spread out instead of colliding again at once. It is
 * scheduling, not domain time, so it uses the runtime timer rather than the injected clock.
 */
export function backOff(attempt: number): Promise<void> {
  const ceiling = Math.min(64, 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** 429 for a request that kept losing write races to others for the same keys. */
export function tooBusy(): AppError {
  return new AppError("RATE_LIMITED", "Too many simultaneous requests. Try again in 1 s.", {
    retry_after: 1,
  });
}
