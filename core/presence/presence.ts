/**
 * Who is online, and the changes that make them so. In parts: the rules (`status.ts`),
 * activity that keeps a user online (`activity.ts`), going offline (`offline.ts`), the
 * per-minute sweep (`sweep.ts`) and what reads show (`views.ts`); this module is their door.
 */
export type { PresenceContext, PresenceView, SocketRef } from "./context.ts";
export {
  heartbeat,
  type HeartbeatAnswer,
  prepareActivity,
  socketOpened,
  socketsAlive,
} from "./activity.ts";
export { afterSignOut, settlePresence, socketClosed, takeOffline } from "./offline.ts";
export { sweepPresence } from "./sweep.ts";
export { presenceJson, presenceOf, presenceOfUsers, presenceSeenBy, sightOf } from "./views.ts";
export { SEES_ALL, type Viewer } from "./visibility.ts";
