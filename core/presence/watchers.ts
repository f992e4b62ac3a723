import type { PresenceServerMessage } from "../../contract/api.ts";
import type { Logger } from "../log.ts";
import type { PresenceView } from "./context.ts";

/** What watching needs of a socket: whose it is, whether it sees everyone, and the socket. */
export interface Watcher {
  userId: string;
  /** An admin's socket: sees everyone (as of its last subscribe). */
  seesAll: boolean;
  socket: WebSocket;
}

/** The presence reads watching needs. */
export interface WatchersDeps {
  log: Logger;
  /** Presence of users as `viewerId` may see it, with which are hidden from them. */
  presenceSeenBy(
    viewerId: string,
    userIds: string[],
  ): Promise<{ seesAll: boolean; views: { view: PresenceView; hidden: boolean }[] }>;
  /** A user's presence and who may see it, read fresh (their visibility just changed). */
  sightOf(userId: string): Promise<{ view: PresenceView; sees: (viewerId: string) => boolean }>;
}

/**
 * Who watches whom on this instance, and who may not see whom (README, "Who sees you online"): a
 * presence change goes to the watchers that may see it, and a change of a user's visibility
 * tells each watcher what it sees from then on. Kept per watched user, so a change costs one
 * pass over that user's watchers and nothing is awaited in a fan-out.
 */
export class Watchers<C extends Watcher> {
  readonly #deps: WatchersDeps;
  readonly #watchers = new Map<string, Set<C>>();
  /** The watchers of each user who may not see them (a user hidden from nobody: no entry). */
  readonly #hiddenFrom = new Map<string, Set<C>>();
  /** Users whose sight is being re-decided: their presence changes wait for it, in order. */
  readonly #resighting = new Map<string, Promise<void>>();
  /** How many times each watched user's sight changed, so a subscribe can tell it raced one. */
  readonly #sightChanges = new Map<string, number>();

  constructor(deps: WatchersDeps) {
    this.#deps = deps;
  }

  /** Whether anyone here watches `userId`. */
  has(userId: string): boolean {
    return this.#watchers.has(userId);
  }

  /** `conn` watches `userIds` from now on. */
  add(conn: C, userIds: string[]): void {
    for (const id of userIds) setOf(this.#watchers, id).add(conn);
  }

  /** Stops `conn` watching `userId`; a user nobody watches leaves no entry behind. */
  remove(userId: string, conn: C): void {
    const watchers = this.#watchers.get(userId);
    if (!watchers) return;
    watchers.delete(conn);
    this.#setHidden(userId, conn, false);
    if (watchers.size === 0) {
      this.#watchers.delete(userId);
      this.#sightChanges.delete(userId);
    }
  }

  /**
   * The answer to a subscribe: each user's presence as `conn`'s user may see it, noting who is
   * hidden from them. A sight change that raced the read is read again, so the answer never
   * undoes what the change sent.
   */
  async answer(conn: C, userIds: string[]): Promise<void> {
    let ids = userIds;
    for (let attempt = 0; attempt < 3 && ids.length > 0; attempt++) {
      const before = ids.map((id) => this.#sightChanges.get(id) ?? 0);
      const { seesAll, views } = await this.#deps.presenceSeenBy(conn.userId, ids);
      conn.seesAll = seesAll;
      const raced: string[] = [];
      views.forEach(({ view, hidden }, i) => {
        if ((this.#sightChanges.get(ids[i]) ?? 0) !== before[i] && attempt < 2) {
          raced.push(ids[i]);
          return;
        }
        this.#setHidden(view.user_id, conn, hidden);
        sendTo(conn, JSON.stringify({ type: "presence", ...view }));
      });
      ids = raced;
    }
  }

  /** A presence change of `userId` (serialized once): to every watcher that may see it. */
  changed(userId: string, text: string): void {
    const pending = this.#resighting.get(userId);
    if (pending) pending.then(() => this.#fanOut(userId, text));
    else this.#fanOut(userId, text);
  }

  /** `userId` is gone (erased): every watcher reads them as an unknown id, at once. */
  gone(userId: string): void {
    const text = JSON.stringify(unknownView(userId));
    for (const conn of this.#watchers.get(userId) ?? []) sendTo(conn, text);
  }

  /**
   * A user's visibility or contacts changed (here or on another instance): each socket
   * watching them is told what it now may see — `offline`, never seen, when it lost sight;
   * the real presence when it gained it. Their presence changes meanwhile wait.
   */
  resight(userId: string): void {
    if (!this.#watchers.has(userId)) return;
    this.#sightChanges.set(userId, (this.#sightChanges.get(userId) ?? 0) + 1);
    const previous = this.#resighting.get(userId) ?? Promise.resolve();
    const done: Promise<void> = previous.then(async () => {
      const { view, sees } = await this.#deps.sightOf(userId);
      const hiddenText = JSON.stringify(unknownView(userId));
      const realText = JSON.stringify({ type: "presence", ...view });
      for (const conn of this.#watchers.get(userId) ?? []) {
        const hidden = !conn.seesAll && !sees(conn.userId);
        if (hidden === (this.#hiddenFrom.get(userId)?.has(conn) ?? false)) continue;
        this.#setHidden(userId, conn, hidden);
        sendTo(conn, hidden ? hiddenText : realText);
      }
    }).catch((error) => {
      this.#deps.log.error("socket sight change failed", { error: String(error) });
    }).finally(() => {
      if (this.#resighting.get(userId) === done) this.#resighting.delete(userId);
    });
    this.#resighting.set(userId, done);
  }

  #fanOut(userId: string, text: string): void {
    const hidden = this.#hiddenFrom.get(userId);
    for (const conn of this.#watchers.get(userId) ?? []) {
      if (hidden !== undefined && hidden.has(conn)) continue;
      sendTo(conn, text);
    }
  }

  #setHidden(userId: string, conn: C, hidden: boolean): void {
    if (hidden) setOf(this.#hiddenFrom, userId).add(conn);
    else {
      const set = this.#hiddenFrom.get(userId);
      if (set?.delete(conn) && set.size === 0) this.#hiddenFrom.delete(userId);
    }
  }
}

/** What a hidden user reads as: exactly an unknown id. */
function unknownView(userId: string): PresenceServerMessage {
  return { type: "presence", user_id: userId, status: "offline", last_seen: null };
}

function sendTo(conn: Watcher, text: string): void {
  if (conn.socket.readyState === WebSocket.OPEN) conn.socket.send(text);
}

/** The set under `key`, made when missing. */
export function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) map.set(key, set = new Set());
  return set;
}
