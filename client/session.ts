import type { TokenPair } from "../contract/api.ts";
import { type DoormanError, errorOf, notSignedIn } from "./errors.ts";
import type { SessionStore } from "./storage.ts";

/** What the session keeper needs: the store, a way to post JSON, and who to tell of a sign-out. */
export interface SessionDeps {
  /** Where the session is kept. */
  store: SessionStore;
  /** POSTs `body` as JSON to a Doorman path. */
  post(path: string, body: unknown): Promise<Response>;
  /** The server refused the session (a refresh answered 401): it was removed from the store. */
  signedOut(error: DoormanError): void;
}

/**
 * The stored session and its refresh. The store is read on every use, never cached, so
 * clients sharing a store (tabs) see each other's refreshes and sign-outs at once.
 */
export class Sessions {
  readonly #deps: SessionDeps;
  #refreshing: Promise<TokenPair> | null = null;

  /** A keeper of the session in `deps.store`. */
  constructor(deps: SessionDeps) {
    this.#deps = deps;
  }

  /** The stored session, read anew. */
  async current(): Promise<TokenPair | null> {
    return await this.#deps.store.get();
  }

  /** Stores `session`, replacing the one stored. */
  async save(session: TokenPair): Promise<void> {
    await this.#deps.store.set(session);
  }

  /** Removes the stored session. */
  async remove(): Promise<void> {
    await this.#deps.store.remove();
  }

  /**
   * Exchanges the refresh token for a new pair. One exchange at a time: parallel callers
   * share it (a refresh token works once, and a second use looks like theft).
   */
  refresh(): Promise<TokenPair> {
    return this.#refreshing ??= this.#refreshOnce().finally(() => {
      this.#refreshing = null;
    });
  }

  /**
   * A session to retry with after `accessToken` got 401: the stored one when it has a newer
   * access token already (someone refreshed meanwhile), else a refreshed one.
   */
  async renew(accessToken: string): Promise<TokenPair> {
    const stored = await this.current();
    if (stored && stored.access_token !== accessToken) return stored;
    return await this.refresh();
  }

  async #refreshOnce(): Promise<TokenPair> {
    const seen = (await this.current())?.refresh_token;
    const { store } = this.#deps;
    const rotate = () => this.#rotate(seen);
    return store.exclusive ? await store.exclusive(rotate) : await rotate();
  }

  async #rotate(seen: string | undefined): Promise<TokenPair> {
    const session = await this.current();
    if (!session) throw notSignedIn();
    // Another tab refreshed while this one waited for its turn: its pair is the new one.
    if (session.refresh_token !== seen) return session;
    const res = await this.#deps.post("/api/v1/auth/refresh", {
      refresh_token: session.refresh_token,
    });
    if (res.ok) {
      const next: TokenPair = await res.json();
      // Logged out (or signed in anew) while the answer came: that session is not kept.
      const now = await this.current();
      if (now?.refresh_token !== session.refresh_token) {
        if (!now) throw notSignedIn();
        return now;
      }
      await this.save(next);
      return next;
    }
    const error = await errorOf(res);
    if (res.status !== 401) throw error;
    // Within 10 s of a rotation the server answers a reused token 401 and revokes nothing
    // (README, the client SDK's "Session"): a client sharing this store rotated it first, and
    // its stored pair still works.
    const now = await this.current();
    if (now && now.refresh_token !== session.refresh_token) return now;
    if (now) await this.remove();
    this.#deps.signedOut(error);
    throw error;
  }
}
