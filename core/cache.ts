/**
 * A bounded in-process cache with a time-to-live, for what hot requests would otherwise read
 * from KV every time. Staleness is bounded twice: entries live at most `ttlMs` — by the
 * runtime's clock and by the injected one, so a test that moves time sees entries age — and
 * `delete` drops one at once (the instance that changed it, or the event tail for the others).
 * A load that was already running when its key was dropped does not put its older value back.
 */
export class TtlCache<V> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { value: V; at: number; clockAt: number }>();
  readonly #loading = new Map<string, Promise<V>>();
  /** Epoch of each key's last drop; loads started before it must not store. */
  readonly #dropped = new Map<string, number>();
  /** Loads started before this epoch never store (the drop map was cleared). */
  #floor = 0;
  #epoch = 0;

  /** `now` is the injected clock (`Clock.now`). */
  constructor(options: { ttlMs: number; maxEntries: number; now: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now;
  }

  /** The cached value, if fresh. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (!this.#fresh(entry)) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  #fresh(entry: { at: number; clockAt: number }): boolean {
    return this.#freshAt(entry, performance.now(), this.#now());
  }

  #freshAt(entry: { at: number; clockAt: number }, real: number, clock: number): boolean {
    const clockAge = clock - entry.clockAt;
    return real - entry.at < this.#ttlMs && clockAge < this.#ttlMs && clockAge >= 0;
  }

  /** Remembers `value` as the current one (written by this instance just now). */
  set(key: string, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      // Oldest first: Map keeps insertion order, and `set` re-inserts.
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    // Entries that aged out go as new ones come, oldest first, so memory follows what is in
    // use rather than the cap.
    const real = performance.now();
    const clock = this.#now();
    for (const [oldest, entry] of this.#entries) {
      if (this.#freshAt(entry, real, clock)) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, at: performance.now(), clockAt: this.#now() });
  }

  /** Drops a key now: the next read loads it again. */
  delete(key: string): void {
    this.#entries.delete(key);
    this.#loading.delete(key);
    if (this.#dropped.size >= this.#maxEntries) {
      this.#dropped.clear();
      this.#floor = this.#epoch + 1;
    }
    this.#dropped.set(key, ++this.#epoch);
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear();
    this.#loading.clear();
    this.#dropped.clear();
    this.#floor = ++this.#epoch + 1;
  }

  /** The cached value, or `load()`'s (one load per key at a time, however many callers). */
  through(key: string, load: () => Promise<V>): Promise<V> {
    const entry = this.#entries.get(key);
    if (entry && this.#fresh(entry)) return Promise.resolve(entry.value);
    return this.#loading.get(key) ?? this.#load(key, ++this.#epoch, load());
  }

  /**
   * Notes that `key` is loading (callers meanwhile wait for it) and keeps its value unless the
   * key was dropped after the load `started`.
   */
  #load(key: string, started: number, value: Promise<V>): Promise<V> {
    const loading: Promise<V> = value.then((value) => {
      if (started >= this.#floor && (this.#dropped.get(key) ?? 0) < started) this.set(key, value);
      return value;
    }).finally(() => {
      if (this.#loading.get(key) === loading) this.#loading.delete(key);
    });
    this.#loading.set(key, loading);
    return loading;
  }

  /**
   * Values of many keys, in their order: cached ones as they are, the rest from one `loadMany`
   * call (`absent` for a key it does not return).
   */
  async many(
    keys: readonly string[],
    loadMany: (missing: string[]) => Promise<Map<string, V>>,
    absent: V,
  ): Promise<V[]> {
    const out = new Array<V>(keys.length);
    const missing: string[] = [];
    // Both clocks once for the whole batch: a hundred keys need not ask a hundred times.
    const real = performance.now();
    const clock = this.#now();
    // Keys another call is loading already are waited for, not read again: when a batch of
    // entries ages out together, every concurrent caller would otherwise read it too.
    const pending: [number, Promise<V>][] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const entry = this.#entries.get(keys[i]);
      if (entry && this.#freshAt(entry, real, clock)) out[i] = entry.value;
      else {
        const loading = this.#loading.get(keys[i]);
        if (loading) pending.push([i, loading]);
        else {
          missing.push(keys[i]);
          missingAt.push(i);
        }
      }
    }
    if (missing.length > 0) {
      const started = ++this.#epoch;
      const batch = loadMany(missing);
      for (let m = 0; m < missing.length; m++) {
        const key = missing[m];
        pending.push([
          missingAt[m],
          this.#load(key, started, batch.then((loaded) => loaded.get(key) ?? absent)),
        ]);
      }
    }
    if (pending.length === 0) return out;
    const values = await Promise.all(pending.map(([, loading]) => loading));
    for (let i = 0; i < pending.length; i++) out[pending[i][0]] = values[i];
    return out;
  }

  /** How many entries are held (fresh or not yet swept). */
  get size(): number {
    return this.#entries.size;
  }
}
