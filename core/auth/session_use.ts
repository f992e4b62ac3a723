import { addSessionUse, type Session } from "../../kv/sessions.ts";
import { Writes } from "../../kv/writes.ts";

/** A sign-in's last use is written at most this often (per sign-in, per instance). */
export const USE_NOTE_INTERVAL_MS = 60_000;
/** Sign-ins remembered at once; forgetting one costs at most one early note. */
const MAX_TRACKED = 100_000;
/** Notes per contribution to a group commit (each is one mutation). */
const NOTES_PER_COMMIT = 500;

/**
 * When each sign-in was last used, for "last used" in the sessions lists, without a write per
 * request: an authenticated request only notes its sign-in here, and a sign-in not noted for a
 * minute is written (one unchecked set) through the group committer, after the request and
 * together with every other sign-in noted meanwhile. A refresh records its use in the commit
 * that rotates the token, so this only covers use between refreshes.
 */
export class SessionUse {
  /** Sign-in id → the last use written (or being written), least recently written first. */
  readonly #written = new Map<string, number>();
  #pending = new Map<string, { at: number; expiresAt: number }>();
  #flushing: Promise<void> | null = null;

  constructor(
    private readonly commit: (writes: Writes) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Notes that `family` was used at `at`; costs a write only once a minute per sign-in. */
  used(family: Session, at: number): void {
    const written = this.#written.get(family.id) ?? family.lastUsedAt ?? family.createdAt;
    if (at - written < USE_NOTE_INTERVAL_MS) return;
    this.#written.delete(family.id);
    this.#written.set(family.id, at);
    if (this.#written.size > MAX_TRACKED) {
      this.#written.delete(this.#written.keys().next().value!);
    }
    this.#pending.set(family.id, { at, expiresAt: family.expiresAt });
    this.#flushing ??= Promise.resolve().then(() => this.#flush());
  }

  /** The last use of a sign-in this instance wrote or is writing, if it knows one. */
  lastNoted(familyId: string): number | undefined {
    return this.#written.get(familyId);
  }

  /** Resolves once every noted use is committed (or failed). */
  async settled(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.size > 0) {
        const notes = [...this.#pending];
        this.#pending = new Map();
        const commits: Promise<unknown>[] = [];
        for (let i = 0; i < notes.length; i += NOTES_PER_COMMIT) {
          const writes = new Writes();
          for (const [familyId, use] of notes.slice(i, i + NOTES_PER_COMMIT)) {
            addSessionUse(writes, { familyId, ...use });
          }
          commits.push(this.commit(writes).catch(this.onError));
        }
        await Promise.all(commits);
      }
    } finally {
      this.#flushing = null;
    }
  }
}
