import type { User } from "../../kv/users.ts";
import { maskRecipient } from "../auth/recipients.ts";
import type { LiveEvent } from "../live/events.ts";
import type { Services } from "../services.ts";

/** The kinds of contact an account has, as the API names them. */
export type ContactKind = "phone" | "email" | "telegram";

/** The user field that holds a kind of contact. */
export function contactOf(user: User, kind: ContactKind): string | null {
  return kind === "telegram" ? user.telegramId : user[kind];
}

/** The user with one contact set (or removed, with null), changed `now`. */
export function withContact(
  user: User,
  kind: ContactKind,
  value: string | null,
  now: number,
): User {
  const field = kind === "telegram" ? "telegramId" : kind;
  return { ...user, [field]: value, updatedAt: now };
}

/**
 * `user.contact_changed`: which contact of which user, before and after, masked the way the
 * delivery log masks `to` (null where there was none, or is none now).
 */
export function contactChangedEvent(
  ctx: Services,
  options: {
    userId: string;
    kind: ContactKind;
    old: string | null;
    now: number;
    next: string | null;
  },
): LiveEvent {
  const { userId, kind, old, next, now } = options;
  const mask = (value: string | null) => value === null ? null : maskRecipient({ kind, value });
  return ctx.bus.newEvent("user", "user.contact_changed", now, {
    user_id: userId,
    contact: kind,
    old: mask(old),
    new: mask(next),
  });
}

/** After a contact change committed: this instance reads the user as written, and hears of it. */
export function contactChanged(ctx: Services, user: User, event: LiveEvent): void {
  ctx.sessionCache.rememberUser(user);
  ctx.bus.publish(event);
}

/** How a kind of contact reads in a message. */
export function label(kind: ContactKind): string {
  return kind === "phone"
    ? "phone number"
    : kind === "email"
    ? "email address"
    : "Telegram account";
}
