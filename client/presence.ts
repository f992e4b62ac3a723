import type {
  PresenceClientMessage,
  PresenceCloseCodes,
  PresenceServerMessage,
  PresenceView,
} from "../contract/api.ts";
import { DoormanError, notSignedIn } from "./errors.ts";
import { type Backoff, backoffDelay, type SocketLike, type Timers } from "./platform.ts";

/** The close codes the client acts on (README, "The WebSocket protocol"). */
const CLOSE: Pick<PresenceCloseCodes, "disabled" | "replaced"> = {
  disabled: 4003,
  replaced: 4009,
};
/** The server takes at most 100 ids per message. */
const IDS_PER_MESSAGE = 100;
/** A socket that said nothing between two pings (one interval) is taken as dead. */
const PING_INTERVAL_MS = 25_000;

/** What the presence socket needs. */
export interface PresenceDeps {
  /** The presence WebSocket's URL, without the ticket. */
  url: string;
  /** The WebSocket constructor to open it with. */
  WebSocket: new (url: string) => SocketLike;
  /** The timers to wait with. */
  timers: Timers;
  /** The waits between reconnects. */
  backoff: Backoff;
  /**
   * A fresh single-use ticket for the socket (`POST /api/v1/presence/ws-ticket`, refreshing
   * the access token if it was refused), or null when signed out.
   */
  ticket(): Promise<string | null>;
  /** Told of every failure to connect or refresh. */
  onError(error: unknown): void;
}

/** One `subscribe()` call's callback (its own object: the same function may subscribe twice). */
interface Listener {
  onChange(presence: PresenceView): void;
}

/**
 * One WebSocket for every presence subscription of a client. It opens with the first
 * subscription and closes with the last; each socket opens with a fresh ticket (whose request
 * refreshes the access token when it has expired); while wanted it reconnects with jittered
 * exponential back-off, subscribes everything again on each new socket, and stops for good
 * when the account is disabled (4003) or the session is gone (its sign-in ended: 4001, and
 * no ticket can be had).
 */
export class PresenceSocket {
  readonly #deps: PresenceDeps;
  readonly #listeners = new Map<string, Set<Listener>>();
  /** The last presence seen of each subscribed user, for late subscribers. */
  readonly #last = new Map<string, PresenceView>();
  /** "idle": no socket wanted; "stopped": wanted, but no retry can help. */
  #state: "idle" | "connecting" | "open" | "waiting" | "stopped" = "idle";
  #socket: SocketLike | null = null;
  /** The ids the current socket is subscribed to. */
  #subscribed = new Set<string>();
  #syncQueued = false;
  /** Bumped by every connect and shutdown: a connect that awaited a token checks it is still current. */
  #attempt = 0;
  #failures = 0;
  #timer: unknown = null;
  #heard = false;

  /** A socket that opens with the first subscription. */
  constructor(deps: PresenceDeps) {
    this.#deps = deps;
  }

  /** Calls `onChange` with each user's presence now and on every change; returns the unsubscribe. */
  subscribe(userIds: string[], onChange: (presence: PresenceView) => void): () => void {
    const ids = [...new Set(userIds)];
    const listener: Listener = { onChange };
    for (const id of ids) {
      let listeners = this.#listeners.get(id);
      if (!listeners) this.#listeners.set(id, listeners = new Set());
      listeners.add(listener);
      const last = this.#last.get(id);
      if (last) {
        queueMicrotask(() => this.#listeners.get(id)?.has(listener) && this.#tell(listener, last));
      }
    }
    if (this.#state === "idle") this.#connect();
    else this.#queueSync();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      for (const id of ids) {
        const listeners = this.#listeners.get(id);
        listeners?.delete(listener);
        if (listeners?.size === 0) this.#listeners.delete(id);
      }
      if (this.#listeners.size === 0) this.#shutdown();
      this.#queueSync();
    };
  }

  /** Starts over with the stored session (a new sign-in), if anything is subscribed. */
  restart(): void {
    this.#shutdown();
    if (this.#listeners.size > 0) this.#connect();
  }

  /** Closes the socket until `restart()`, keeping the subscriptions (signed out). */
  suspend(): void {
    this.#shutdown();
    this.#state = "stopped";
  }

  /** Forgets every subscription and closes the socket (logout). */
  close(): void {
    this.#listeners.clear();
    this.#last.clear();
    this.#shutdown();
  }

  /** Opens a socket with a fresh ticket. */
  async #connect(): Promise<void> {
    this.#state = "connecting";
    const attempt = ++this.#attempt;
    let ticket: string | null;
    try {
      ticket = await this.#deps.ticket();
    } catch (error) {
      if (attempt !== this.#attempt) return;
      // A refused refresh is a sign-out: no socket can authenticate any more.
      if (error instanceof DoormanError && error.status < 500 && error.status !== 429) {
        return this.#stop(error);
      }
      this.#deps.onError(error);
      return this.#retryLater();
    }
    if (attempt !== this.#attempt) return; // unsubscribed or restarted meanwhile
    if (!ticket) return this.#stop(notSignedIn());
    let socket: SocketLike;
    try {
      socket = new this.#deps.WebSocket(`${this.#deps.url}?ticket=${encodeURIComponent(ticket)}`);
    } catch (error) {
      this.#deps.onError(error);
      return this.#retryLater();
    }
    this.#socket = socket;
    this.#subscribed = new Set();
    socket.onmessage = (event) => this.#onMessage(event.data);
    socket.onclose = (event) => this.#onClose(event.code, event.reason);
    socket.onerror = () => {}; // a close follows, with its code
  }

  #onMessage(data: unknown): void {
    this.#heard = true;
    let message: PresenceServerMessage;
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (message.type === "ready") {
      this.#state = "open";
      this.#failures = 0;
      this.#sync();
      this.#schedulePing();
    } else if (message.type === "presence") {
      const listeners = this.#listeners.get(message.user_id);
      if (!listeners) return;
      const presence = {
        user_id: message.user_id,
        status: message.status,
        last_seen: message.last_seen,
      };
      this.#last.set(presence.user_id, presence);
      for (const listener of listeners) this.#tell(listener, presence);
    } else if (message.type === "error") {
      this.#deps.onError(new DoormanError({ status: 400, ...message }));
    }
  }

  /** One subscriber's callback; its exceptions are its own, and do not reach the others. */
  #tell(listener: Listener, presence: PresenceView): void {
    try {
      listener.onChange(presence);
    } catch (error) {
      this.#deps.onError(error);
    }
  }

  #onClose(code: number, reason: string): void {
    this.#drop();
    if (code === CLOSE.disabled) {
      return this.#stop(
        new DoormanError({
          status: 403,
          code: "ACCOUNT_DISABLED",
          message: `Presence socket closed: ${reason || "account disabled"}.`,
        }),
      );
    }
    // Replaced by the user's 11th socket: come back slowly, or sockets take turns forever.
    if (code === CLOSE.replaced) this.#failures = Infinity;
    // Anything else, 4001 included: the next ticket's request finds out whether the sign-in
    // still holds (a refused refresh signs the client out and stops this).
    this.#retryLater();
  }

  /** Connects again after the back-off. */
  #retryLater(): void {
    this.#state = "waiting";
    const delay = backoffDelay(this.#failures++, this.#deps.backoff);
    this.#timer = this.#deps.timers.setTimeout(() => {
      this.#timer = null;
      this.#connect();
    }, delay);
  }

  #stop(error: DoormanError): void {
    this.suspend();
    this.#deps.onError(error);
  }

  /** Subscribes the socket to what is wanted now, and unsubscribes what no longer is. */
  #sync(): void {
    // Forgotten only here: an id unsubscribed and subscribed again in one go stays subscribed
    // on the socket, which tells nothing new, so its new subscriber gets what was last seen.
    for (const id of this.#last.keys()) if (!this.#listeners.has(id)) this.#last.delete(id);
    if (this.#state !== "open") return;
    const add = [...this.#listeners.keys()].filter((id) => !this.#subscribed.has(id));
    const remove = [...this.#subscribed].filter((id) => !this.#listeners.has(id));
    for (let i = 0; i < add.length; i += IDS_PER_MESSAGE) {
      this.#send({ type: "subscribe", user_ids: add.slice(i, i + IDS_PER_MESSAGE) });
    }
    for (let i = 0; i < remove.length; i += IDS_PER_MESSAGE) {
      this.#send({ type: "unsubscribe", user_ids: remove.slice(i, i + IDS_PER_MESSAGE) });
    }
    this.#subscribed = new Set(this.#listeners.keys());
  }

  /** Changes made in one go (a list rendering its rows) become one message, not one each. */
  #queueSync(): void {
    if (this.#syncQueued) return;
    this.#syncQueued = true;
    queueMicrotask(() => {
      this.#syncQueued = false;
      this.#sync();
    });
  }

  /** Pings while open; a socket that said nothing since the last ping is dropped and replaced. */
  #schedulePing(): void {
    this.#heard = false;
    this.#timer = this.#deps.timers.setTimeout(() => {
      this.#timer = null;
      if (this.#state !== "open") return;
      if (!this.#heard) return this.#onClose(1006, "no answer to ping");
      this.#send({ type: "ping" });
      this.#schedulePing();
    }, PING_INTERVAL_MS);
  }

  #send(message: PresenceClientMessage): void {
    if (this.#socket?.readyState === 1) this.#socket.send(JSON.stringify(message));
  }

  /** Lets go of the current socket: its events are ignored from now on. */
  #drop(): void {
    if (this.#timer !== null) this.#deps.timers.clearTimeout(this.#timer);
    this.#timer = null;
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onopen =
      socket.onmessage =
      socket.onclose =
      socket.onerror =
        null;
    try {
      socket.close(1000, "done");
    } catch {
      // Closed already.
    }
  }

  #shutdown(): void {
    this.#attempt++;
    this.#drop();
    this.#state = "idle";
    this.#failures = 0;
  }
}
