/**
 * What the dashboard says about each event: one line of what happened, and who it was about
 * (the masked recipient and/or the user id), the same way for every kind so a sign-in can be
 * followed from its code to its presence.
 */
import type { LiveEvent } from "./live.ts";

type Data = LiveEvent["data"];

const CHANNELS: Record<string, string> = { sms: "SMS", telegram: "Telegram", email: "email" };
const LIMITS: Record<string, string> = {
  ip: "too many codes from one IP",
  recipient: "too many codes for this recipient",
  cooldown: "asked again within the resend cooldown",
};
const REFUSALS: Record<string, string> = {
  country: "country not allowed",
  premium: "premium-rate or shared-cost number",
  blocked: "number range blocked",
  range_limit: "number range over its hourly cap",
  budget: "daily SMS budget spent",
};

function channelName(value: unknown): string {
  return CHANNELS[String(value)] ?? String(value);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "otp_length 6 → 8, status active → suspended". */
function changesText(changes: unknown): string {
  if (!changes || typeof changes !== "object") return "";
  return Object.entries(changes as Record<string, { from?: unknown; to?: unknown }>)
    .map(([name, { from, to }]) => `${name} ${from ?? "—"} → ${to ?? "—"}`)
    .join(", ");
}

/** How a contact kind of `user.contact_changed` reads. */
const CONTACTS: Record<string, string> = {
  phone: "Phone",
  email: "Email",
  telegram: "Telegram account",
};

/** One line of what happened; who it concerns is told by `subjectsOf`. */
export function describe(d: Data): string {
  switch (d.type) {
    case "presence.online":
      return "Came online";
    case "presence.offline":
      return "Went offline";
    case "otp.requested":
      return "Code requested, waiting for the person to open Telegram";
    case "otp.sent":
      return d.test
        ? "Test recipient: fixed code, nothing sent"
        : `Code sent by ${channelName(d.channel)}${d.provider ? ` (${d.provider})` : ""}`;
    case "otp.verified":
      return `Signed in${d.new_user ? " as a new user" : ""}${
        d.channel ? ` with a code by ${channelName(d.channel)}` : ""
      }`;
    case "otp.invalid":
      return `Wrong code, ${plural(Number(d.attempts_left), "attempt")} left`;
    case "otp.failed":
      return "Code could not be delivered";
    case "otp.rate_limited":
      return `Rate limited: ${
        d.limit === "range" ? `too many SMS to ${d.prefix}` : LIMITS[String(d.limit)] ?? d.limit
      }`;
    case "otp.refused":
      return `SMS refused: ${REFUSALS[String(d.reason)] ?? d.reason}${
        d.prefix ? ` (${d.prefix}${d.country ? `, ${d.country}` : ""})` : ""
      }`;
    case "user.updated":
      if (d.reason === "suspension_ended") return "Suspension over: the account is active again";
      return `Account now ${d.status}${
        d.previous_status && d.previous_status !== d.status ? ` (was ${d.previous_status})` : ""
      }, role ${d.role}`;
    case "user.signed_out":
      return d.by ? "Sign-in ended by an admin" : "Signed out";
    case "user.contact_changed": {
      const what = CONTACTS[String(d.contact)] ?? String(d.contact);
      if (d.old && d.new) return `${what} changed from ${d.old} to ${d.new}`;
      if (d.new) return `${what} ${d.new} added`;
      return `${what} ${d.old ?? ""} removed`.replace("  ", " ");
    }
    case "user.presence_visibility_changed":
      return d.contacts_changed
        ? "Presence contacts changed"
        : `Presence now visible to ${
          d.presence_visibility === "contacts" ? "contacts only" : d.presence_visibility
        }`;
    case "channel.down":
      return `${channelName(d.channel)} is failing: ${d.error}`;
    case "channel.up":
      return `${channelName(d.channel)} works again`;
    case "channel.budget_exhausted":
      return `Daily ${
        channelName(d.channel)
      } limit of ${d.limit} spent: SMS refused until tomorrow`;
    case "fraud.prefix_blocked":
      return `Number range ${d.prefix} blocked for SMS for 24 h: ${d.sent} sent, ${d.verified} used`;
    case "fraud.prefix_unblock":
      return `Number range ${d.target} unblocked`;
    case "user.update":
      return `Account changed: ${changesText(d.changes)}`;
    case "user.sessions_revoke":
      return `Sign-ins ended: ${changesText(d.changes)}`;
    case "settings.update":
      return `Settings changed: ${changesText(d.changes)}`;
    default: {
      const changes = changesText(d.changes);
      return `${d.type}${d.target ? ` ${d.target}` : ""}${changes ? `: ${changes}` : ""}`;
    }
  }
}

/** Who an event is about, and who made it happen. */
export interface Subjects {
  /** The masked phone or email the code went to. */
  recipient?: string;
  /** The user it concerns. */
  userId?: string;
  /** The admin who made the change. */
  byUserId?: string;
}

/** The recipient, user and acting admin an event names. */
export function subjectsOf(d: Data): Subjects {
  const subjects: Subjects = {};
  if (typeof d.recipient === "string" && d.recipient) subjects.recipient = d.recipient;
  if (typeof d.user_id === "string" && d.user_id) subjects.userId = d.user_id;
  const actor = d.actor as { user_id?: unknown } | undefined;
  const by = typeof actor?.user_id === "string" ? actor.user_id : d.by;
  // "system": Doorman itself (a suspension that ended), not an admin.
  if (typeof by === "string" && by && by !== "system") subjects.byUserId = by;
  return subjects;
}
