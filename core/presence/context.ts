import type { PresenceView } from "../../contract/api.ts";
import type { Services } from "../services.ts";
import type { Deadlines } from "../jobs/timers.ts";
import type { PresenceCache } from "./cache.ts";
import type { VisibilityCache } from "./visibility.ts";

/** What presence needs besides the services: its caches and this instance's deadlines. */
export interface PresenceContext extends Services {
  presence: {
    /** Presence records as last read or written here (at most a second stale). */
    cache: PresenceCache;
    /** In-process offline deadlines (the cron sweep is the durable backstop). */
    deadlines: Deadlines;
    /** Presence contacts, for who sees whom (the visibility rides in the user records). */
    visibility: VisibilityCache;
  };
}

/** A user's presence as the API shows it: a wire type, shared with the client SDK. */
export type { PresenceView };

/** One open WebSocket of a user. */
export interface SocketRef {
  userId: string;
  socketId: string;
}
