import type { PresenceServerMessage } from "../../contract/api.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import type { EventBus, LiveEvent } from "../live/events.ts";
import type { Logger } from "../log.ts";
import type { PresenceView, SocketRef } from "./context.ts";
import { CLOSE, parseClientMessage, SOCKET_LIMITS } from "./socket_protocol.ts";
import { SIGHT_CHANGED } from "./visibility.ts";
import { setOf, Watchers } from "./watchers.ts";

export { CLOSE, SOCKET_LIMITS };

/** Whom a socket belongs to: a user's sign-in (refresh family). */
export interface SocketOwner {
  userId: string;
  sid: string;
}

/** What the hub needs: time, a log, and the presence operations it calls (no whole context). */
export interface HubDeps {
  clock: Clock;
  log: Logger;
  /** How often open sockets are recorded alive (the heartbeat interval), ms. */
  keepAliveMs(): Promise<number>;
  /** Where the sign-ins of open sockets stand, in their order (the periodic re-check). */
  sessionStates(owners: SocketOwner[]): Promise<("active" | "ended" | "disabled")[]>;
  opened(socket: SocketRef): Promise<void>;
  alive(sockets: SocketRef[]): Promise<void>;
  closed(socket: SocketRef): Promise<void>;
  /** Presence of users as `viewerId` may see it, with which are hidden from them. */
  presenceSeenBy(
    viewerId: string,
    userIds: string[],
  ): Promise<{ seesAll: boolean; views: { view: PresenceView; hidden: boolean }[] }>;
  /** A user's presence and who may see it, read fresh (their visibility just changed). */
  sightOf(userId: string): Promise<{ view: PresenceView; sees: (viewerId: string) => boolean }>;
}

interface Connection {
  id: string;
  socket: WebSocket;
  /** Being closed: further messages are ignored. */
  stopped: boolean;
  /** Why it is being closed, for a socket told to close before it opened. */
  ending: { code: number; reason: string } | null;
  userId: string;
  sid: string;
  subscriptions: Set<string>;
  /** An admin's socket: sees everyone (as of its last subscribe). */
  seesAll: boolean;
  windowStart: number;
  messages: number;
  /** Recorded open (`opened` ran), so its close is recorded too. */
  recorded: boolean;
  closed: boolean;
  /** Messages are handled one after another, after the socket is recorded open. */
  queue: Promise<void>;
}

/**
 * The WebSocket side of presence on this instance. Every socket it holds was authenticated
 * before its upgrade (a ticket) and belongs to one sign-in: it keeps its user online while it
 * stays open, gets presence changes it subscribed to, and is closed when its sign-in ends —
 * at once on the end event (local or from another instance, through the bus), and at the
 * next periodic re-check if that event was lost.
 */
export class PresenceHub {
  readonly #deps: HubDeps;
  readonly #connections = new Set<Connection>();
  readonly #byUser = new Map<string, Set<Connection>>();
  readonly #watchers: Watchers<Connection>;
  #keepAlive: TimerHandle | null = null;
  #recheck: TimerHandle | null = null;

  constructor(deps: HubDeps) {
    this.#deps = deps;
    this.#watchers = new Watchers(deps);
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
   * Takes over a socket being upgraded for `owner`'s sign-in. It counts as the sign-in's at
   * once, so an end event arriving before it opens still closes it; a user's 11th socket on
   * this instance closes the oldest (4009).
   */
  accept(socket: WebSocket, owner: SocketOwner): void {
    const deps = this.#deps;
    const conn: Connection = {
      id: crypto.randomUUID(),
      socket,
      stopped: false,
      ending: null,
      userId: owner.userId,
      sid: owner.sid,
      subscriptions: new Set(),
      seesAll: false,
      windowStart: deps.clock.now(),
      messages: 0,
      recorded: false,
      closed: false,
      queue: Promise.resolve(),
    };
    this.#connections.add(conn);
    const own = setOf(this.#byUser, owner.userId);
    // At most 10 sockets a user: a new one replaces the oldest (Sets keep insertion order).
    for (const old of own) {
      if (own.size < SOCKET_LIMITS.maxPerUser) break;
      own.delete(old);
      this.#close(old, CLOSE.replaced, "replaced by a newer socket");
    }
    own.add(conn);
    this.#armRecheck();
    socket.onopen = () => {
      conn.queue = conn.queue.then(() => this.#open(conn)).catch((error) => {
        deps.log.error("socket open failed", { error: String(error) });
        this.#close(conn, 1011, "internal error");
      });
    };
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
    if (this.#recheck !== null) this.#deps.clock.clearTimeout(this.#recheck);
    this.#keepAlive = null;
    this.#recheck = null;
    for (const conn of this.#connections) this.#close(conn, 1001, "going away");
  }

  /** Closes a socket whose message was too big, or not text (1009). */
  #oversized(conn: Connection, text: boolean): void {
    this.#close(conn, CLOSE.tooBig, text ? "message too big" : "send JSON text");
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
    const message = parseClientMessage(data);
    if (!message) {
      return send(conn, {
        type: "error",
        code: "VALIDATION_FAILED",
        message: 'Send JSON like {"type":"ping"}; see the protocol in the README.',
      });
    }
    switch (message.type) {
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
        for (const id of fresh) conn.subscriptions.add(id);
        this.#watchers.add(conn, fresh);
        return await this.#watchers.answer(conn, message.user_ids);
      }
      case "unsubscribe":
        for (const id of message.user_ids) {
          conn.subscriptions.delete(id);
          this.#watchers.remove(id, conn);
        }
        return;
    }
  }

  /** The socket opened: recorded (its user is online), then told it is ready. */
  async #open(conn: Connection): Promise<void> {
    if (conn.closed) return;
    if (conn.stopped) return this.#close(conn, conn.ending!.code, conn.ending!.reason);
    conn.recorded = true;
    await this.#deps.opened({ userId: conn.userId, socketId: conn.id });
    send(conn, { type: "ready", user_id: conn.userId });
    this.#armKeepAlive();
  }

  /**
   * Every 30 s while sockets are open, their sign-ins are read again (through the sign-in
   * cache, in batches; never per message) and the ended ones closed.
   */
  #armRecheck(): void {
    if (this.#recheck !== null) return;
    const deps = this.#deps;
    const run = async () => {
      const conns = [...this.#connections].filter((conn) => !conn.closed && !conn.stopped);
      if (conns.length === 0) return;
      const states = await deps.sessionStates(
        conns.map((conn) => ({ userId: conn.userId, sid: conn.sid })),
      );
      conns.forEach((conn, i) => {
        if (states[i] === "disabled") this.#close(conn, CLOSE.disabled, "account disabled");
        else if (states[i] === "ended") this.#close(conn, CLOSE.signedOut, "signed out");
      });
    };
    this.#recheck = deps.clock.setTimeout(() => {
      this.#recheck = null;
      run()
        .catch((error) => deps.log.error("socket re-check failed", { error: String(error) }))
        .finally(() => {
          if (this.#connections.size > 0) this.#armRecheck();
        });
    }, SOCKET_LIMITS.recheckMs);
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
        .filter((conn) => !conn.closed && conn.recorded)
        .map((conn) => ({ userId: conn.userId, socketId: conn.id }));
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
    for (const id of conn.subscriptions) this.#watchers.remove(id, conn);
    const own = this.#byUser.get(conn.userId);
    own?.delete(conn);
    if (own?.size === 0) this.#byUser.delete(conn.userId);
    // After its open is recorded, if that is still under way: the close must come second.
    await conn.queue;
    if (conn.recorded) await this.#deps.closed({ userId: conn.userId, socketId: conn.id });
  }

  #onEvent(event: LiveEvent): void {
    const data = event.data as Record<string, unknown> & { type: string };
    if (event.kind === "presence") {
      const userId = String(data.user_id);
      if (!this.#watchers.has(userId)) return;
      // One serialization for every subscriber: a change may fan out to thousands.
      this.#watchers.changed(
        userId,
        JSON.stringify({
          type: "presence",
          user_id: data.user_id,
          status: data.status,
          last_seen: data.last_seen,
        }),
      );
    } else if (data.type === SIGHT_CHANGED) {
      this.#watchers.resight(String(data.user_id));
    } else if (data.type === "user.updated" && data.status !== "active") {
      for (const conn of this.#byUser.get(String(data.user_id)) ?? []) {
        this.#close(conn, CLOSE.disabled, "account disabled");
      }
    } else if (data.type === "user.deleted") {
      const userId = String(data.user_id);
      for (const conn of this.#byUser.get(userId) ?? []) {
        this.#close(conn, CLOSE.signedOut, "account deleted");
      }
      // Watchers see an erased user as an unknown id, at once.
      this.#watchers.gone(userId);
    } else if (data.type === "user.signed_out") {
      for (const conn of this.#byUser.get(String(data.user_id)) ?? []) {
        if (conn.sid === data.family_id) this.#close(conn, CLOSE.signedOut, "signed out");
      }
    }
  }

  #close(conn: Connection, code: number, reason: string): void {
    // No more messages are handled from here on.
    conn.stopped = true;
    conn.ending ??= { code, reason };
    // Closed a moment later, not from inside the message handler: closing at once, while the
    // client's next frames are still unread, resets the connection and the client never
    // learns the close code (seen with every client that keeps sending).
    // A socket not open yet is closed when it opens (see `#open`).
    setTimeout(() => {
      if (conn.socket.readyState !== WebSocket.OPEN) return;
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
