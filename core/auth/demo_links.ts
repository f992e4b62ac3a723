import { addConsumeDemoLink, getDemoLink, saveDemoLink } from "../../kv/demo_links.ts";
import { anyAdminAmongFirst } from "../../kv/users.ts";
import { addOpenSession } from "../../kv/sessions.ts";
import { CONFLICT, retry } from "../../kv/retry.ts";
import {
  addSaveUser,
  emptyUserEntry,
  getUserEntry,
  getUserIndex,
  type User,
  userIdOf,
} from "../../kv/users.ts";
import { Writes } from "../../kv/writes.ts";
import type { Config } from "../config.ts";
import { newId } from "../ids.ts";
import type { Services } from "../services.ts";
import { toBase64Url } from "./codes.ts";
import { newSession, type SessionClient } from "./sessions.ts";
import { hashRefreshToken } from "./tokens.ts";
import { openDashboardSession } from "./dashboard_sessions.ts";

/** How long a link `deno task demo` or `deno task dev` prints stays good. */
export const DEMO_LINK_TTL_MS = 10 * 60_000;

/** Who a demo link signs in: an admin made for the demo (or a development KV with none). */
export const DEMO_ADMIN_EMAIL = "demo-admin@example.com";

/** A token as `issueDemoLink` makes them (32 random bytes, base64url). */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Users looked at for an admin before development's hint gives up (and says nothing). */
const ADMIN_SCAN_LIMIT = 10_000;

/**
 * Whether demo links work: in development only (`deno task demo`, and `deno task dev` while no
 * admin exists), and not when the demo admin's address is a test recipient (its fixed code
 * would sign anyone in as an admin). Only links this process printed exist.
 */
export function demoLinksEnabled(config: Config): boolean {
  return config.appEnv === "development" &&
    !config.testRecipients.has(`email:${DEMO_ADMIN_EMAIL}`);
}

/**
 * Whether someone can sign in to the dashboard already: an admin is configured
 * (`ADMIN_EMAILS`, `ADMIN_PHONES`) or stored. Development asks, to say how to get in.
 */
export async function adminExists(ctx: Services): Promise<boolean> {
  if (ctx.config.adminEmails.length > 0 || ctx.config.adminPhones.length > 0) return true;
  return await anyAdminAmongFirst(ctx.kv, ADMIN_SCAN_LIMIT);
}

/** Whether a link made by `issueDemoLink` still signs in for at least `forMs`. */
export async function demoLinkUsable(ctx: Services, token: string, forMs = 0): Promise<boolean> {
  if (!TOKEN.test(token)) return false;
  const link = await getDemoLink(ctx.kv, await hashRefreshToken(token));
  return link.value !== null && link.value.expiresAt > ctx.clock.now() + forMs;
}

/** Makes a one-time dashboard sign-in token, stored hashed for 10 minutes; returns the token. */
export async function issueDemoLink(ctx: Services): Promise<string> {
  const token = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const now = ctx.clock.now();
  await saveDemoLink(ctx.kv, await hashRefreshToken(token), {
    createdAt: now,
    expiresAt: now + DEMO_LINK_TTL_MS,
  });
  return token;
}

/**
 * Redeems a demo link: in one commit the link is used up, the demo admin is created (or made an
 * active admin again) and a sign-in opened for this browser; returns its dashboard session
 * token. Null when the token is unknown, used or expired.
 */
export async function redeemDemoLink(
  ctx: Services,
  token: string,
  client: SessionClient,
): Promise<string | null> {
  if (!TOKEN.test(token)) return null;
  const hash = await hashRefreshToken(token);
  const signIn = await retry("use a demo link", async () => {
    const now = ctx.clock.now();
    const [link, index] = await Promise.all([
      getDemoLink(ctx.kv, hash),
      getUserIndex(ctx.kv, { kind: "email", value: DEMO_ADMIN_EMAIL }),
    ]);
    if (link.versionstamp === null || link.value.expiresAt <= now) return null;
    const stored = index.value
      ? await getUserEntry(ctx.kv, index.value)
      : emptyUserEntry(newId("usr", now));
    const admin: User = {
      id: userIdOf(stored),
      phone: null,
      email: DEMO_ADMIN_EMAIL,
      telegramId: null,
      createdAt: now,
      ...stored.value,
      status: "active",
      suspendedUntil: null,
      role: "admin",
      updatedAt: now,
    };
    const session = newSession(ctx, admin.id, { now, client });
    const writes = addConsumeDemoLink(new Writes(), link);
    addSaveUser(writes, admin, stored);
    addOpenSession(writes, session.family);
    if (!await ctx.commits.commit(writes)) return CONFLICT;
    return { userId: admin.id, familyId: session.family.id };
  });
  return signIn && await openDashboardSession(ctx, signIn);
}
