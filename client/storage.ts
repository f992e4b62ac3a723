import type { TokenPair } from "../contract/api.ts";

/**
 * Where the client keeps its session (the sign-in answer: tokens and user). Methods may be
 * synchronous or return promises (IndexedDB, a mobile keychain).
 */
export interface SessionStore {
  /** The stored session, or null. */
  get(): TokenPair | null | Promise<TokenPair | null>;
  /** Stores `session`, replacing the one stored. */
  set(session: TokenPair): void | Promise<void>;
  /** Removes the stored session. */
  remove(): void | Promise<void>;
  /**
   * Runs `task` while no other client sharing this store runs one (browser tabs sharing
   * `localStorage`), so two tabs never refresh one token at once. Optional.
   */
  exclusive?<T>(task: () => Promise<T>): Promise<T>;
}

/** A session kept in this client's memory only: gone on reload. The default. */
export function memoryStorage(): SessionStore {
  let session: TokenPair | null = null;
  return {
    get: () => session,
    set: (next) => void (session = next),
    remove: () => void (session = null),
  };
}

/** The Web Locks API where the platform has it (browsers). */
interface LockManager {
  request<T>(name: string, task: () => Promise<T>): Promise<T>;
}

/**
 * A session kept in `localStorage` under `key`: it survives reloads and is shared by the tabs
 * of an origin, which take turns to refresh it (Web Locks).
 */
export function localStorageStorage(key = "doorman.session"): SessionStore {
  const { localStorage, navigator } = globalThis as {
    localStorage: Storage;
    navigator?: { locks?: LockManager };
  };
  const locks = navigator?.locks;
  return {
    get() {
      try {
        return JSON.parse(localStorage.getItem(key) ?? "null");
      } catch {
        return null; // Not ours, or damaged: as good as signed out.
      }
    },
    set: (session) => localStorage.setItem(key, JSON.stringify(session)),
    remove: () => localStorage.removeItem(key),
    ...(locks ? { exclusive: (task) => locks.request(`doorman:${key}`, task) } : {}),
  };
}
