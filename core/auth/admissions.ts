/**
 * Code requests of each client IP that this instance admitted and whose commit has not been
 * seen by every read yet. The per-IP counter is a conflict-free sum (many requests share it),
 * so a read may miss requests committing at the same moment; counting the ones this instance
 * knows about keeps one instance exact, and instances sharing a KV can only overshoot by the
 * requests in flight on the others.
 */
export class Admissions {
  readonly #inFlight = new Map<string, number>();
  /** When recent commits landed (`performance.now()`), per subject, oldest first. */
  readonly #landed = new Map<string, number[]>();

  /** How many of `subject`'s admitted requests a read started at `readAt` may have missed. */
  unseen(subject: string, readAt: number): number {
    const landed = this.#landed.get(subject) ?? [];
    let after = 0;
    for (let i = landed.length - 1; i >= 0 && landed[i] >= readAt; i--) after++;
    return (this.#inFlight.get(subject) ?? 0) + after;
  }

  /**
   * Counts one admitted request of `subject` until its commit ends: call the returned
   * function with whether it committed.
   */
  admit(subject: string): (committed: boolean) => void {
    this.#inFlight.set(subject, (this.#inFlight.get(subject) ?? 0) + 1);
    return (committed) => {
      const left = (this.#inFlight.get(subject) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(subject, left);
      else this.#inFlight.delete(subject);
      if (!committed) return;
      const now = performance.now();
      // A read older than a few seconds is long answered: older landings can be forgotten.
      const recent = (this.#landed.get(subject) ?? []).filter((at) => now - at < 5_000);
      recent.push(now);
      this.#landed.set(subject, recent);
      if (++this.#landings % 1_000 === 0) this.prune();
    };
  }

  #landings = 0;

  /** Forgets landings older than a read can be (every thousandth landing does it). */
  prune(): void {
    const now = performance.now();
    for (const [subject, landed] of this.#landed) {
      const recent = landed.filter((at) => now - at < 5_000);
      if (recent.length === 0) this.#landed.delete(subject);
      else this.#landed.set(subject, recent);
    }
  }
}
