import type { Session } from "../../kv/sessions.ts";
import { saveSocketTicket, takeSocketTicket } from "../../kv/socket_tickets.ts";
import type { User } from "../../kv/users.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import { accountDisabled } from "../users.ts";
import { toBase64Url } from "./codes.ts";
import type { Caller } from "./sessions.ts";
import { hashRefreshToken } from "./tokens.ts";

/** How long a presence WebSocket ticket may wait to be used, seconds. */
export const SOCKET_TICKET_TTL_SECONDS = 30;

/** A ticket as `issueSocketTicket` makes them (32 random bytes, base64url). */
const TICKET = /^[A-Za-z0-9_-]{43}$/;

/** Whom a socket belongs to: a user's sign-in (refresh family). */
export interface SocketOwner {
  userId: string;
  sid: string;
}

/** Where a sign-in stands: still on, ended (revoked, expired, user gone), or its user disabled. */
export type SessionState = "active" | "ended" | "disabled";

/**
 * `POST /api/v1/presence/ws-ticket`: a single-use ticket that opens one presence socket for the
 * caller's sign-in. Only its hash is stored, in KV, so any instance can take it.
 */
export async function issueSocketTicket(
  ctx: Services,
  caller: Caller,
): Promise<{ ticket: string; expires_in: number }> {
  const ticket = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const now = ctx.clock.now();
  await saveSocketTicket(ctx.kv, await hashRefreshToken(ticket), {
    userId: caller.user.id,
    sid: caller.claims.sid,
    createdAt: now,
    expiresAt: now + SOCKET_TICKET_TTL_SECONDS * 1000,
  });
  return { ticket, expires_in: SOCKET_TICKET_TTL_SECONDS };
}

/**
 * Uses a ticket up and returns whose socket it opens: 401 when it is missing, unknown, used or
 * expired, or its sign-in has ended since; 403 `ACCOUNT_DISABLED` when its user was disabled.
 */
export async function redeemSocketTicket(
  ctx: Services,
  ticket: string | undefined,
): Promise<SocketOwner> {
  if (!ticket || !TICKET.test(ticket)) throw badTicket();
  const taken = await takeSocketTicket(ctx.kv, await hashRefreshToken(ticket));
  if (!taken || taken.expiresAt <= ctx.clock.now()) throw badTicket();
  const owner = { userId: taken.userId, sid: taken.sid };
  const [family, user] = await Promise.all([
    ctx.sessionCache.family(owner.sid),
    ctx.sessionCache.user(owner.userId),
  ]);
  const state = signInState(owner, { family, user, now: ctx.clock.now() });
  if (state === "disabled") throw accountDisabled(user!);
  if (state === "ended") throw badTicket();
  return owner;
}

/**
 * Where the sign-ins of open sockets stand, in their order, read through the sign-in cache
 * (what authenticated requests read) in batches: the periodic re-check of sockets whose end
 * event may have been lost.
 */
export async function sessionStates(ctx: Services, owners: SocketOwner[]): Promise<SessionState[]> {
  const sids = [...new Set(owners.map((o) => o.sid))];
  const userIds = [...new Set(owners.map((o) => o.userId))];
  const [families, users] = await Promise.all([
    ctx.sessionCache.families(sids),
    ctx.sessionCache.users(userIds),
  ]);
  const familyOf = new Map(sids.map((sid, i) => [sid, families[i]]));
  const userOf = new Map(userIds.map((id, i) => [id, users[i]]));
  const now = ctx.clock.now();
  return owners.map((owner) =>
    signInState(owner, {
      family: familyOf.get(owner.sid) ?? null,
      user: userOf.get(owner.userId) ?? null,
      now,
    })
  );
}

/** The same judgement `authenticate` makes of a Bearer token's sign-in. */
function signInState(
  owner: SocketOwner,
  found: { family: Session | null; user: User | null; now: number },
): SessionState {
  const { family, user, now } = found;
  if (!user) return "ended";
  if (user.status !== "active") return "disabled";
  if (
    !family || family.userId !== owner.userId || family.revokedAt !== null ||
    family.expiresAt <= now
  ) return "ended";
  return "active";
}

function badTicket(): AppError {
  return new AppError(
    "UNAUTHORIZED",
    "Open the socket with a fresh ticket: POST /api/v1/presence/ws-ticket, then ?ticket=<ticket>.",
  );
}
