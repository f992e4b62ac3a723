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
} as const;

/** Limits of one socket. */
export const SOCKET_LIMITS = {
  authTimeoutMs: 5_000,
  maxMessageBytes: 4_096,
  /** Messages per rate window before the socket is closed. */
  maxMessages: 60,
  rateWindowMs: 10_000,
  idsPerMessage: 100,
  maxSubscriptions: 1_000,
} as const;

interface Connection {
  id: string;
  socket: WebSocket;
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

type ClientMessage =
  | { type: "auth"; token: string }
  | { type: "ping" }
  | { type: "subscribe" | "unsubscribe"; user_ids: string[] };

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

  /** Takes over an upgraded socket. */
  accept(socket: WebSocket): void {
    const deps = this.#deps;
    const conn: Connection = {
      id: crypto.randomUUID(),
      socket,
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
      conn.queue = conn.queue.then(() => this.#onMessage(conn, message.data)).catch((error) => {
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

  async #onMessage(conn: Connection, data: unknown): Promise<void> {
    const deps = this.#deps;
    if (conn.closed) return;
    const size = typeof data === "string" ? new TextEncoder().encode(data).length : Infinity;
    if (size > SOCKET_LIMITS.maxMessageBytes) {
      return this.#close(conn, CLOSE.tooBig, "message too big");
    }
    const now = deps.clock.now();
    if (now - conn.windowStart >= SOCKET_LIMITS.rateWindowMs) {
      conn.windowStart = now;
      conn.messages = 0;
    }
    if (++conn.messages > SOCKET_LIMITS.maxMessages) {
      return this.#close(conn, CLOSE.policy, "too many messages");
    }
    const message = parse(data as string);
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
          this.#watchers.get(id)?.delete(conn);
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
      conn.userId = userId;
      conn.sid = sid;
      setOf(this.#byUser, userId).add(conn);
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
    this.#connections.delete(conn);
    if (conn.authTimer !== null) this.#deps.clock.clearTimeout(conn.authTimer);
    for (const id of conn.subscriptions) this.#watchers.get(id)?.delete(conn);
    if (!conn.userId) return;
    const own = this.#byUser.get(conn.userId);
    own?.delete(conn);
    if (own?.size === 0) this.#byUser.delete(conn.userId);
    await this.#deps.closed({ userId: conn.userId, socketId: conn.id });
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
    if (
      conn.socket.readyState === WebSocket.OPEN || conn.socket.readyState === WebSocket.CONNECTING
    ) {
      try {
        conn.socket.close(code, reason);
      } catch {
        // Already closing.
      }
    }
  }
}

function send(conn: Connection, message: Record<string, unknown>): void {
  if (conn.socket.readyState === WebSocket.OPEN) conn.socket.send(JSON.stringify(message));
}

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) map.set(key, set = new Set());
  return set;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

function parse(data: string): ClientMessage | null {
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
