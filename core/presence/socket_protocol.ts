import type { PresenceClientMessage, PresenceCloseCodes } from "../../contract/api.ts";

/* The presence socket's protocol: its close codes, its limits, and what a client may send. */

/** Close codes of the protocol (README, "The WebSocket protocol"), and the standard ones for oversize and abuse. */
export const CLOSE = {
  signedOut: 4001,
  disabled: 4003,
  policy: 1008,
  tooBig: 1009,
  replaced: 4009,
} as const satisfies PresenceCloseCodes;

/** Limits of one socket. */
export const SOCKET_LIMITS = {
  maxMessageBytes: 4_096,
  /** Messages per rate window before the socket is closed. */
  maxMessages: 60,
  rateWindowMs: 10_000,
  idsPerMessage: 100,
  maxSubscriptions: 1_000,
  /** Open sockets of one user (this instance): one more closes the oldest. */
  maxPerUser: 10,
  /**
   * How often every open socket's sign-in is read again: a sign-in whose end event never
   * reached this instance still closes its sockets within this (plus the cache's second).
   */
  recheckMs: 30_000,
} as const;

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A client message, validated; null for anything the protocol does not allow. */
export function parseClientMessage(data: string): PresenceClientMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const message = value as Record<string, unknown>;
  switch (message.type) {
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
