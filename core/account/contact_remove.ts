import { CONFLICT, retry } from "../../kv/retry.ts";
import { addSaveUser, getUserEntry, type User } from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import { AppError } from "../errors.ts";
import { addEventWrites } from "../live/emit.ts";
import type { Services } from "../services.ts";
import {
  contactChanged,
  contactChangedEvent,
  type ContactKind,
  contactOf,
  label,
  withContact,
} from "./contact_change.ts";

/**
 * Removes one contact of a user, in one commit guarded by the user as read, so two parallel
 * removes of the last two contacts cannot both land: the second reads again and is refused.
 * A contact the user does not have: 404. One that would leave no way to sign in: 409
 * `CONFLICT` (`last_contact`); a Telegram account is a way only while the bot is configured.
 */
export async function removeContact(
  ctx: Services & { telegram: unknown },
  userId: string,
  kind: ContactKind,
): Promise<void> {
  const telegramSignIn = ctx.telegram !== null;
  await retry(`remove the ${kind} of "${userId}"`, async () => {
    const now = ctx.clock.now();
    const entry = await getUserEntry(ctx.kv, userId);
    const user = entry.value;
    if (!user) throw new AppError("UNAUTHORIZED", "This account no longer exists.");
    const old = contactOf(user, kind);
    if (old === null) throw new AppError("NOT_FOUND", `Your account has no ${label(kind)}.`);
    const next = withContact(user, kind, null, now);
    if (!canSignIn(next, telegramSignIn)) {
      throw new AppError(
        "CONFLICT",
        `Your ${label(kind)} is your last way to sign in: add another contact first.`,
        { reason: "last_contact" },
      );
    }
    const writes = addSaveUser(new Writes(), next, entry);
    const event = contactChangedEvent(ctx, { userId, kind, old, next: null, now });
    addEventWrites(writes, event, now);
    if (!await ctx.commits.commit(writes)) return CONFLICT;
    contactChanged(ctx, next, event);
    ctx.log.info("contact removed", { user_id: userId, contact: kind });
  });
}

/** Whether a user can still get a code: a phone, an email, or Telegram with the bot there. */
function canSignIn(user: User, telegramSignIn: boolean): boolean {
  return user.phone !== null || user.email !== null ||
    (telegramSignIn && user.telegramId !== null);
}
