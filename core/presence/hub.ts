import type {
  PresenceClientMessage,
  PresenceCloseCodes,
  PresenceServerMessage,
} from "../../contract/api.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import { AppError } from "../errors.ts";
import type { EventBus, LiveEvent } from "../live/events.ts";
import type { Logger } from "../log.ts";
import type { PresenceView, SocketRef } from "./presence.ts";

/** What the hub needs: time, a log, and the presence operations it calls (no whole context). */
export interface HubDeps {
  clock: Clock;
  log: Logger;
  /** How often open sockets are recorded alive (the heartbeat interval), ms. */
  keepAliveMs(): Promise<number>;
  /** Checks an access token; throws `AppError` (`UNAUTHORIZED`, `ACCOUNT_DISABLED`). */
  authenticate(token: string): Promise<{ userId: string; sid: string }>;
  opened(socket: SocketRef): Promise<void>;
  alive(sockets: SocketRef[]): Promise<void>;
  closed(socket: SocketRef): Promise<void>;
  presenceOf(userIds: string[]): Promise<PresenceView[]>;
}

/** Close codes of the protocol (README, "The WebSocket protocol"), and the standard ones for oversize and abuse. */
export const CLOSE = {
  badToken: 4001,
  disabled: 4003,
  authTimeout: 4008,
  policy: 1008,
  tooBig: 1009,
  replaced: 4009,
} as const satisfies PresenceCloseCodes;

/** Limits of one socket. */
export const SOCKET_LIMITS = {
  authTimeoutMs: 5_000,
  maxMessageBytes: 4_096,
  /** Messages per rate window before the socket is closed. */
  maxMessages: 60,
  rateWindowMs: 10_000,
  idsPerMessage: 100,
  maxSubscriptions: 1_000,
  /** Sockets of one client IP that have not authenticated yet. */
  maxPendingPerIp: 20,
  /** Sockets of all clients that have not authenticated yet (this instance). */
  maxPending: 500,
  /** Open sockets of one user (this instance): one more closes the oldest. */
  maxPerUser: 10,
} as const;

interface Connection {
  id: string;
  socket: WebSocket;
  ip: string;
  /** Still waiting to authenticate (counted against the caps). */
  pending: boolean;
  /** Being closed: further messages are ignored. */
  stopped: boolean;
  userId: string | null;
  sid: string | null;
  subscriptions: Set<string>;
  authTimer: TimerHandle | null;
  windowStart: number;
  messages: number;
  closed: boolean;
  /** Messages are handled one after another, so `subscribe` right after `auth` works. */
  queue: Promise<void>;
}

/**
 * The WebSocket side of presence on this instance: authenticates sockets, keeps their users
 * online while they stay open, and pushes presence changes to subscribers. Events from other
 * instances arrive through the bus like local ones.
 */
export class PresenceHub {
  readonly #deps: HubDeps;
  readonly #connections = new Set<Connection>();
  readonly #byUser = new Map<string, Set<Connection>>();
  readonly #watchers = new Map<string, Set<Connection>>();
  /** Unauthenticated sockets per client IP. */
  readonly #pending = new Map<string, number>();
  #pendingTotal = 0;
  #keepAlive: TimerHandle | null = null;

  constructor(deps: HubDeps) {
    this.#deps = deps;
  }

  /** Pushes the bus's presence and account events to sockets; returns the unsubscribe. */
  follow(bus: EventBus): () => void {
    return bus.subscribe((event) => this.#onEvent(event));
  }

  /** Open sockets on this instance. */
  get size(): number {
    return this.#connections.size;
  }

  /**
   * Takes over an upgraded socket of a client at `ip`. Over the caps — 20 unauthenticated
   * sockets per IP, 500 in all — it is closed at once (1008).
   */
  accept(socket: WebSocket, options: { ip: string }): void {
    const deps = this.#deps;
    const { ip } = options;
    if (
      (this.#pending.get(ip) ?? 0) >= SOCKET_LIMITS.maxPendingPerIp ||
      this.#pendingTotal >= SOCKET_LIMITS.maxPending
    ) {
      socket.onopen = () => socket.close(CLOSE.policy, "too many sockets waiting to authenticate");
      socket.onerror = () => {};
      return;
    }
    this.#pending.set(ip, (this.#pending.get(ip) ?? 0) + 1);
    this.#pendingTotal++;
    const conn: Connection = {
      id: crypto.randomUUID(),
      socket,
      ip,
      pending: true,
      stopped: false,
      userId: null,
      sid: null,
      subscriptions: new Set(),
      authTimer: null,
      windowStart: deps.clock.now(),
      messages: 0,
      closed: false,
      queue: Promise.resolve(),
    };
    this.#connections.add(conn);
    conn.authTimer = deps.clock.setTimeout(() => {
      if (!conn.userId) this.#close(conn, CLOSE.authTimeout, "no auth in time");
    }, SOCKET_LIMITS.authTimeoutMs);
    socket.onmessage = (message) => {
      const data = message.data;
      // Checked before anything keeps the message: an oversized one is dropped at once and its
      // socket closed (the runtime received it whole: see the README on frame sizes). UTF-8
      // takes at least a byte per UTF-16 unit, so the length alone rules out most.
      if (conn.closed || conn.stopped) return;
      if (
        typeof data !== "string" || data.length > SOCKET_LIMITS.maxMessageBytes ||
        new TextEncoder().encode(data).length > SOCKET_LIMITS.maxMessageBytes
      ) {
        this.#oversized(conn, typeof data === "string");
        return;
      }
      conn.queue = conn.queue.then(() => this.#onMessage(conn, data)).catch((error) => {
        deps.log.error("socket message failed", { error: String(error) });
        this.#close(conn, 1011, "internal error");
      });
    };
    socket.onclose = () => {
      this.#forget(conn).catch((error) =>
        deps.log.error("socket close failed", { error: String(error) })
      );
    };
    socket.onerror = () => {};
  }

  /** Closes every socket and stops listening (shutdown, tests). */
  close(): void {
    if (this.#keepAlive !== null) this.#deps.clock.clearTimeout(this.#keepAlive);
    this.#keepAlive = null;
    for (const conn of this.#connections) this.#close(conn, 1001, "going away");
  }

  /** Closes a socket whose message was too big, or not text (1009). */
  #oversized(conn: Connection, text: boolean): void {
    this.#close(conn, CLOSE.tooBig, text ? "message too big" : "send JSON text");
  }

  /** The socket stops counting as waiting to authenticate. */
  #settle(conn: Connection): void {
    if (conn.pending === false) return;
    conn.pending = false;
    const left = (this.#pending.get(conn.ip) ?? 1) - 1;
    if (left > 0) this.#pending.set(conn.ip, left);
    else this.#pending.delete(conn.ip);
    this.#pendingTotal--;
  }

  async #onMessage(conn: Connection, data: string): Promise<void> {
    const deps = this.#deps;
    if (conn.closed || conn.stopped) return;
    const now = deps.clock.now();
    if (now - conn.windowStart >= SOCKET_LIMITS.rateWindowMs) {
      conn.windowStart = now;
      conn.messages = 0;
    }
    if (++conn.messages > SOCKET_LIMITS.maxMessages) {
      return this.#close(conn, CLOSE.policy, "too many messages");
    }
    const message = parse(data);
    if (!message) {
      if (!conn.userId) return this.#close(conn, CLOSE.badToken, "send auth first");
      return send(conn, {
        type: "error",
        code: "VALIDATION_FAILED",
        message: 'Send JSON like {"type":"ping"}; see the protocol in the README.',
      });
    }
    if (!conn.userId) {
      if (message.type !== "auth") return this.#close(conn, CLOSE.badToken, "send auth first");
      return await this.#authenticate(conn, message.token);
    }
    switch (message.type) {
      case "auth":
        return send(conn, {
          type: "error",
          code: "VALIDATION_FAILED",
          message: "Already authenticated.",
        });
      case "ping":
        send(conn, { type: "pong" });
        return;
      case "subscribe": {
        const fresh = message.user_ids.filter((id) => !conn.subscriptions.has(id));
        if (conn.subscriptions.size + fresh.length > SOCKET_LIMITS.maxSubscriptions) {
          return send(conn, {
            type: "error",
            code: "VALIDATION_FAILED",
            message: `At most ${SOCKET_LIMITS.maxSubscriptions} subscriptions per socket.`,
          });
        }
        for (const id of fresh) {
          conn.subscriptions.add(id);
          setOf(this.#watchers, id).add(conn);
        }
        for (const presence of await deps.presenceOf(message.user_ids)) {
          send(conn, { type: "presence", ...presence });
        }
        return;
      }
      case "unsubscribe":
        for (const id of message.user_ids) {
          conn.subscriptions.delete(id);
          this.#unwatch(id, conn);
        }
        return;
    }
  }

  async #authenticate(conn: Connection, token: string): Promise<void> {
    const deps = this.#deps;
    try {
      const { userId, sid } = await deps.authenticate(token);
      if (conn.closed) return;
      if (conn.authTimer !== null) deps.clock.clearTimeout(conn.authTimer);
      conn.authTimer = null;
      this.#settle(conn);
      conn.userId = userId;
      conn.sid = sid;
      const own = setOf(this.#byUser, userId);
      // At most 10 sockets a user: a new one replaces the oldest (Sets keep insertion order).
      for (const old of own) {
        if (own.size < SOCKET_LIMITS.maxPerUser) break;
        own.delete(old);
        this.#close(old, CLOSE.replaced, "replaced by a newer socket");
      }
      own.add(conn);
      await deps.opened({ userId, socketId: conn.id });
      send(conn, { type: "ready", user_id: userId });
      this.#armKeepAlive();
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      this.#close(
        conn,
        error.code === "ACCOUNT_DISABLED" ? CLOSE.disabled : CLOSE.badToken,
        error.code === "ACCOUNT_DISABLED" ? "account disabled" : "bad token",
      );
    }
  }

  /** While sockets are open, they and their users are recorded alive every interval. */
  #armKeepAlive(): void {
    if (this.#keepAlive !== null) return;
    const deps = this.#deps;
    const arm = async () => {
      const ms = await deps.keepAliveMs();
      if (this.#keepAlive === null && this.#byUser.size > 0) {
        this.#keepAlive = deps.clock.setTimeout(run, ms);
      }
    };
    const tick = async () => {
      this.#keepAlive = null;
      const sockets = [...this.#byUser.values()].flatMap((conns) => [...conns])
        .filter((conn) => !conn.closed && conn.userId)
        .map((conn) => ({ userId: conn.userId!, socketId: conn.id }));
      await deps.alive(sockets);
      await arm();
    };
    const run = () => {
      tick().catch((error) => deps.log.error("socket keep-alive failed", { error: String(error) }));
    };
    arm().catch(() => {});
  }

  async #forget(conn: Connection): Promise<void> {
    conn.closed = true;
    this.#settle(conn);
    this.#connections.delete(conn);
    if (conn.authTimer !== null) this.#deps.clock.clearTimeout(conn.authTimer);
    for (const id of conn.subscriptions) this.#unwatch(id, conn);
    if (!conn.userId) return;
    const own = this.#byUser.get(conn.userId);
    own?.delete(conn);
    if (own?.size === 0) this.#byUser.delete(conn.userId);
    await this.#deps.closed({ userId: conn.userId, socketId: conn.id });
  }

  /** Stops `conn` watching `userId`; a user nobody watches leaves no entry behind. */
  #unwatch(userId: string, conn: Connection): void {
    const watchers = this.#watchers.get(userId);
    if (!watchers) return;
    watchers.delete(conn);
    if (watchers.size === 0) this.#watchers.delete(userId);
  }

  #onEvent(event: LiveEvent): void {
    const data = event.data as Record<string, unknown> & { type: string };
    if (event.kind === "presence") {
      const userId = String(data.user_id);
      const watchers = this.#watchers.get(userId);
      if (!watchers || watchers.size === 0) return;
      // One serialization for every subscriber: a change may fan out to thousands.
      const text = JSON.stringify({
        type: "presence",
        user_id: userId,
        status: data.status,
        last_seen: data.last_seen,
      });
      for (const conn of watchers) {
        if (conn.socket.readyState === WebSocket.OPEN) conn.socket.send(text);
      }
    } else if (data.type === "user.updated" && data.status !== "active") {
      for (const conn of this.#byUser.get(String(data.user_id)) ?? []) {
        this.#close(conn, CLOSE.disabled, "account disabled");
      }
    } else if (data.type === "user.signed_out") {
      for (const conn of this.#byUser.get(String(data.user_id)) ?? []) {
        if (conn.sid === data.family_id) this.#close(conn, CLOSE.badToken, "signed out");
      }
    }
  }

  #close(conn: Connection, code: number, reason: string): void {
    // No more messages are handled from here on.
    conn.stopped = true;
    // Closed a moment later, not from inside the message handler: closing at once, while the
    // client's next frames are still unread, resets the connection and the client never
    // learns the close code (seen with every client that keeps sending).
    setTimeout(() => {
      const { readyState } = conn.socket;
      if (readyState !== WebSocket.OPEN && readyState !== WebSocket.CONNECTING) return;
      try {
        conn.socket.close(code, reason);
      } catch {
        // Already closing.
      }
    }, 0);
  }
}

function send(conn: Connection, message: PresenceServerMessage): void {
  if (conn.socket.readyState === WebSocket.OPEN) conn.socket.send(JSON.stringify(message));
}

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) map.set(key, set = new Set());
  return set;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

function parse(data: string): PresenceClientMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case "auth":
      return typeof message.token === "string" && message.token.length <= 4096
        ? { type: "auth", token: message.token }
        : null;
    case "ping":
      return { type: "ping" };
    case "subscribe":
    case "unsubscribe": {
      const ids = message.user_ids;
      if (
        !Array.isArray(ids) || ids.length === 0 || ids.length > SOCKET_LIMITS.idsPerMessage ||
        !ids.every((id) => typeof id === "string" && ID.test(id))
      ) return null;
      return { type: message.type, user_ids: [...new Set(ids as string[])] };
    }
    default:
      return null;
  }
}
