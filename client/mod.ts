/**
 * Doorman's client SDK for Deno and browsers: sign-in with one-time codes, a session that
 * refreshes itself, heartbeats and presence subscriptions over one WebSocket. It imports no
 * server code (only the wire types of contract/api.ts), so `deno bundle client/mod.ts`
 * makes one browser file of it. README, "For app developers".
 */
import type {
  CodeRequestBody,
  CodeRequested,
  HeartbeatAnswer,
  PresenceView,
  PublicUser,
  SocketTicketAnswer,
  TokenPair,
} from "../contract/api.ts";
import { type AccountCalls, accountCalls, type SessionCalls, sessionCalls } from "./account.ts";
import { bodyOf as json, DoormanError, errorOf } from "./errors.ts";
import { HeartbeatLoop } from "./heartbeat.ts";
import {
  type Backoff,
  DEFAULT_BACKOFF,
  pageDocument,
  realTimers,
  type SocketConstructor,
  type Timers,
  type VisibilityDocument,
} from "./platform.ts";
import { PresenceSocket } from "./presence.ts";
import { Sessions } from "./session.ts";
import { memoryStorage, type SessionStore } from "./storage.ts";

export type { AccountCalls, ContactKind, SessionCalls } from "./account.ts";
export type {
  AccountExport,
  AccountStatus,
  CodeRequestBody,
  CodeRequested,
  ContactRequestBody,
  ErrorCode,
  HeartbeatAnswer,
  PresenceView,
  PresenceVisibility,
  PublicUser,
  SessionInfo,
  TelegramLinkAnswer,
  TokenPair,
} from "../contract/api.ts";
/**
 * The answer of a sign-in or a refresh, under its old name.
 * @deprecated Use `TokenPair`: the same type.
 */
export type SignIn = TokenPair;
export { DoormanError, type DoormanErrorInit } from "./errors.ts";
export type {
  Backoff,
  SocketConstructor,
  SocketLike,
  Timers,
  VisibilityDocument,
} from "./platform.ts";
export { localStorageStorage, memoryStorage, type SessionStore } from "./storage.ts";

/** How to reach Doorman, where to keep the session, and the platform to use. */
export interface DoormanClientOptions {
  /** Doorman's origin, with a path prefix if it is served under one: `https://auth.example.com`. */
  baseUrl: string;
  /** Where the session lives; default: memory (gone on reload). */
  storage?: SessionStore;
  /** Default: the platform's `fetch`. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Default: the platform's `WebSocket`. */
  WebSocket?: SocketConstructor;
  /** Default: the platform's `setTimeout`/`clearTimeout`. */
  timers?: Timers;
  /** The page whose visibility pauses heartbeats; default: `document` in a browser, else none. */
  document?: VisibilityDocument | null;
  /** Waits after failures (heartbeats, socket reconnects); default 1 s doubling to 30 s. */
  backoff?: Partial<Backoff>;
  /**
   * The session was removed: by `logout()` (null), or because the server refused it (a
   * refresh answered 401; the error). Time to show the sign-in screen.
   */
  onSignOut?: (error: DoormanError | null) => void;
  /** A background failure: a heartbeat or the presence socket (`ACCOUNT_DISABLED`, …). */
  onError?: (error: unknown) => void;
}

/** A signed-in app's view of Doorman. Every method rejects with `DoormanError` on an error answer. */
export interface DoormanClient {
  /** `POST /api/v1/auth/otp/request` → `{ request_id, channel, expires_in, resend_after, deep_link? }`. */
  requestCode(input: CodeRequestBody): Promise<CodeRequested>;
  /** `POST /api/v1/auth/otp/verify`; stores and returns the session (tokens and user). */
  verifyCode(input: { requestId: string; code: string }): Promise<TokenPair>;
  /** Exchanges the refresh token for a new pair; parallel calls share one request. */
  refresh(): Promise<TokenPair>;
  /** The stored session, or null when signed out. */
  session(): Promise<TokenPair | null>;
  /**
   * `fetch` of a Doorman path with the access token; a 401 refreshes (once, shared with
   * parallel callers) and retries once. Answers are returned as they are, error answers
   * included; a refresh that fails rejects with its `DoormanError`.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** `GET /api/v1/me` → the signed-in user. */
  me(): Promise<PublicUser>;
  /** One `POST /api/v1/presence/heartbeat`. */
  heartbeat(): Promise<HeartbeatAnswer>;
  /** Heartbeats at the server's `next_heartbeat_in`, paused while the page is hidden. */
  startHeartbeat(): void;
  /** Stops the heartbeat loop. */
  stopHeartbeat(): void;
  /** Presence of other users, over one shared WebSocket. */
  presence: {
    /**
     * Calls `onChange` with each user's presence now and on every change, over one shared
     * WebSocket that reconnects by itself; returns the function that unsubscribes.
     */
    subscribe(userIds: string[], onChange: (presence: PresenceView) => void): () => void;
  };
  /** The user's own account: contacts, presence privacy, export, erasure. */
  account: AccountCalls;
  /** The user's sign-ins on every device. */
  sessions: SessionCalls;
  /** Ends the sign-in on the server and removes the session; stops heartbeats and the socket. */
  logout(): Promise<void>;
  /** Stops heartbeats and closes the socket, keeping the session (an app shutting down). */
  close(): void;
}

/** A Doorman client: `createDoormanClient({ baseUrl: "https://auth.example.com" })`. */
export function createDoormanClient(options: DoormanClientOptions): DoormanClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const platformFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const timers = options.timers ?? realTimers;
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const onError = options.onError ?? (() => {});
  const onSignOut = options.onSignOut ?? (() => {});

  const send = (path: string, init: RequestInit, token?: string) => {
    const headers = new Headers(init.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    return platformFetch(base + path, { ...init, headers });
  };
  const post = (path: string, body: unknown) =>
    send(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const sessions = new Sessions({
    store: options.storage ?? memoryStorage(),
    post,
    signedOut: (error) => {
      heartbeats.stop();
      presence.suspend(); // a new sign-in (verifyCode) brings the subscriptions back
      onSignOut(error);
    },
  });

  async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
    const session = await sessions.current();
    const res = await send(path, init, session?.access_token);
    // A stream body was read by the first try; anything else can be sent again.
    if (res.status !== 401 || !session || init.body instanceof ReadableStream) return res;
    await res.body?.cancel();
    const renewed = await sessions.renew(session.access_token);
    return await send(path, init, renewed.access_token);
  }

  /** The session is gone on the server too (logout, erasure): forget it here. */
  const forget = async () => {
    heartbeats.stop();
    presence.close();
    if (await sessions.current()) {
      await sessions.remove();
      onSignOut(null);
    }
  };

  const heartbeat = async (): Promise<HeartbeatAnswer> =>
    await json(await authorizedFetch("/api/v1/presence/heartbeat", { method: "POST" }));
  const heartbeats = new HeartbeatLoop({
    beat: heartbeat,
    timers,
    backoff,
    document: options.document === undefined ? pageDocument() : options.document,
    onError,
  });
  const presence = new PresenceSocket({
    url: base.replace(/^http/, "ws") + "/api/v1/presence/ws",
    WebSocket: options.WebSocket ?? (globalThis.WebSocket as SocketConstructor),
    timers,
    backoff,
    ticket: async () => {
      if (!await sessions.current()) return null;
      const res = await authorizedFetch("/api/v1/presence/ws-ticket", { method: "POST" });
      return (await json<SocketTicketAnswer>(res)).ticket;
    },
    onError,
  });

  return {
    async requestCode(input) {
      return await json(await post("/api/v1/auth/otp/request", input));
    },
    async verifyCode({ requestId, code }) {
      const session: TokenPair = await json(
        await post("/api/v1/auth/otp/verify", { request_id: requestId, code }),
      );
      await sessions.save(session);
      presence.restart(); // subscriptions made before, or of another user, start over
      return session;
    },
    refresh: () => sessions.refresh(),
    session: () => sessions.current(),
    fetch: authorizedFetch,
    async me() {
      return (await json<{ user: PublicUser }>(await authorizedFetch("/api/v1/me"))).user;
    },
    heartbeat,
    startHeartbeat: () => heartbeats.start(),
    stopHeartbeat: () => heartbeats.stop(),
    presence: { subscribe: (userIds, onChange) => presence.subscribe(userIds, onChange) },
    account: accountCalls(authorizedFetch, forget),
    sessions: sessionCalls(authorizedFetch),
    async logout() {
      heartbeats.stop();
      presence.close();
      const session = await sessions.current();
      if (!session) return;
      try {
        const res = await authorizedFetch("/api/v1/auth/logout", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refresh_token: session.refresh_token }),
        });
        // 401: the server had ended this sign-in already.
        if (!res.ok && res.status !== 401) throw await errorOf(res);
        await res.body?.cancel();
      } catch (error) {
        if (!(error instanceof DoormanError && error.status === 401)) throw error;
      } finally {
        // Gone from the store whatever the server said (a refused refresh removed it already).
        await forget();
      }
    },
    close() {
      heartbeats.stop();
      presence.close();
    },
  };
}
