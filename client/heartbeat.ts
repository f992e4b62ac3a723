import type { HeartbeatAnswer } from "../contract/api.ts";
import { DoormanError } from "./errors.ts";
import { type Backoff, backoffDelay, type Timers, type VisibilityDocument } from "./platform.ts";

/** What the heartbeat loop needs. */
export interface HeartbeatDeps {
  /** Sends one heartbeat. */
  beat(): Promise<HeartbeatAnswer>;
  /** The timers to wait with. */
  timers: Timers;
  /** The waits after failures. */
  backoff: Backoff;
  /** The page whose visibility pauses the loop; null outside browsers. */
  document: VisibilityDocument | null;
  /** Told of every failed beat. */
  onError(error: unknown): void;
}

/**
 * Heartbeats at the server's `next_heartbeat_in`. A hidden page sends none (its user goes
 * offline after the presence timeout) and beats at once when shown again. A failure waits
 * with back-off (at least its `Retry-After`); 401 (signed out) and 403 (account disabled)
 * stop the loop, as no retry can help.
 */
export class HeartbeatLoop {
  readonly #deps: HeartbeatDeps;
  #running = false;
  /** Bumped by every start and stop, so a beat of an earlier run schedules nothing. */
  #run = 0;
  #timer: unknown = null;
  #beating = false;
  #failures = 0;

  /** A loop that beats through `deps`; `start()` starts it. */
  constructor(deps: HeartbeatDeps) {
    this.#deps = deps;
  }

  /** Starts beating at once (a no-op when running). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#run++;
    this.#failures = 0;
    this.#deps.document?.addEventListener("visibilitychange", this.#onVisibility);
    this.#beat();
  }

  /** Stops beating; a beat on the wire is forgotten. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#run++;
    // A beat still on the wire belongs to the ended run: the next run must not wait for it.
    this.#beating = false;
    this.#cancel();
    this.#deps.document?.removeEventListener("visibilitychange", this.#onVisibility);
  }

  #hidden(): boolean {
    return this.#deps.document?.visibilityState === "hidden";
  }

  #onVisibility = (): void => {
    this.#cancel();
    if (!this.#hidden() && !this.#beating) this.#beat();
  };

  #cancel(): void {
    if (this.#timer !== null) this.#deps.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #beat(): Promise<void> {
    if (!this.#running || this.#hidden()) return;
    const run = this.#run;
    let delay: number;
    this.#beating = true;
    try {
      const answer = await this.#deps.beat();
      this.#failures = 0;
      delay = Math.max(1, answer.next_heartbeat_in) * 1000;
    } catch (error) {
      if (run !== this.#run) return;
      this.#deps.onError(error);
      if (error instanceof DoormanError && (error.status === 401 || error.status === 403)) {
        return this.stop();
      }
      const retryAfter = error instanceof DoormanError ? (error.retryAfter ?? 0) * 1000 : 0;
      delay = Math.max(retryAfter, backoffDelay(this.#failures++, this.#deps.backoff));
    } finally {
      if (run === this.#run) this.#beating = false;
    }
    if (run !== this.#run || this.#hidden()) return;
    this.#timer = this.#deps.timers.setTimeout(() => {
      this.#timer = null;
      this.#beat();
    }, delay);
  }
}
