import { type Touch, touchMany } from "../../kv/presence.ts";

/**
 * Group commit for activity writes. Heartbeats are idempotent "seen at" writes, so while one
 * commit is in flight the next ones queue up and go out together in the following commit;
 * each caller is answered only once its write is durable. At low load a write commits at
 * once (no added latency); under load, commits carry many heartbeats each.
 */
export class ActivityBatcher {
  readonly #kv: Deno.Kv;
  readonly #maxBatch: number;
  readonly #grouped: boolean;
  #queue: { touch: Touch; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #inFlight: Promise<void> | null = null;
  #commits = 0;
  #writes = 0;

  /** `grouped: false` commits every write on its own (the benchmark's baseline). */
  constructor(kv: Deno.Kv, options: { maxBatch?: number; grouped?: boolean } = {}) {
    this.#kv = kv;
    this.#grouped = options.grouped ?? true;
    // Each heartbeat is at most two mutations; KV takes up to 1000 per commit.
    this.#maxBatch = options.maxBatch ?? 400;
  }

  /** Records one activity; resolves once it is committed. */
  touch(touch: Touch): Promise<void> {
    if (!this.#grouped) {
      this.#commits++;
      this.#writes++;
      return touchMany(this.#kv, [touch]);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ touch, resolve, reject });
      this.#inFlight ??= this.#drain();
    });
  }

  /** Resolves once every activity recorded so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /** Commits so far and writes carried by them (for the benchmark and health). */
  get stats(): { commits: number; writes: number } {
    return { commits: this.#commits, writes: this.#writes };
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      // One user heartbeating twice in a batch needs only the later write.
      const latest = new Map<string, Touch>();
      for (const { touch } of batch) {
        const seen = latest.get(touch.userId);
        latest.set(touch.userId, {
          userId: touch.userId,
          at: Math.max(seen?.at ?? 0, touch.at),
          heartbeat: (seen?.heartbeat ?? false) || touch.heartbeat,
        });
      }
      try {
        await touchMany(this.#kv, [...latest.values()]);
        this.#commits++;
        this.#writes += batch.length;
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.#inFlight = null;
  }
}
