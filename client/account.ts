/**
 * The signed-in user's own account: contacts, presence privacy, sign-ins, export and erasure
 * (README, "Accounts and privacy"). Every call goes through the client's authorized fetch, so an
 * expired access token is refreshed once and the call retried.
 */
import type {
  AccountExport,
  CodeRequested,
  ContactRequestBody,
  PresenceVisibility,
  PublicUser,
  SessionInfo,
  TelegramLinkAnswer,
} from "../contract/api.ts";
import { bodyOf, noContent } from "./errors.ts";

/** A kind of contact a user can sign in with. */
export type ContactKind = "phone" | "email" | "telegram";

/** What the user can do with their account. */
export interface AccountCalls {
  /**
   * `POST /api/v1/me/contact/request`: sends a code to a new email or phone. The answer is the
   * same whether or not the contact belongs to someone else; that shows at `verifyContact`.
   */
  requestContactCode(input: ContactRequestBody): Promise<CodeRequested>;
  /**
   * `POST /api/v1/me/contact/verify`: adds the contact, or replaces the one of its kind, and
   * returns the updated user. `CONFLICT` (`reason: "contact_in_use"`) when another account has it.
   */
  verifyContactCode(input: { requestId: string; code: string }): Promise<PublicUser>;
  /** `POST /api/v1/me/telegram/link`: a deep link; pressing Start there links that Telegram. */
  linkTelegram(): Promise<TelegramLinkAnswer>;
  /** `DELETE /api/v1/me/contact/:kind`; `CONFLICT` (`last_contact`) for the last way in. */
  removeContact(kind: ContactKind): Promise<void>;
  /** `PATCH /api/v1/me`: who sees the user online; returns the updated user. */
  setPresenceVisibility(visibility: PresenceVisibility): Promise<PublicUser>;
  /** `GET /api/v1/me/presence-contacts`: who sees the user when visibility is `contacts`. */
  presenceContacts(): Promise<string[]>;
  /** `PUT /api/v1/me/presence-contacts` (at most 1,000 ids); returns the list as stored. */
  setPresenceContacts(userIds: string[]): Promise<string[]>;
  /** `GET /api/v1/me/export`: everything Doorman keeps about the user. */
  export(): Promise<AccountExport>;
  /**
   * `DELETE /api/v1/me`: erases the account and signs out here. Needs a sign-in by code from
   * the last 10 minutes, else `REAUTH_REQUIRED` (sign in again with a code, then retry).
   */
  delete(): Promise<void>;
}

/** The user's sign-ins (sessions), on every device. */
export interface SessionCalls {
  /** `GET /api/v1/sessions`: active sign-ins, newest first; `current` marks this one. */
  list(): Promise<SessionInfo[]>;
  /** `DELETE /api/v1/sessions/:id`: ends one sign-in at once. */
  end(id: string): Promise<void>;
  /** `DELETE /api/v1/sessions`: ends every sign-in but this one. */
  endOthers(): Promise<void>;
}

/** The client's authorized fetch of a Doorman path (refreshes once on 401). */
export type AuthorizedFetch = (path: string, init?: RequestInit) => Promise<Response>;

const jsonBody = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** The account calls over `fetch`; `erased` runs after the account was deleted. */
export function accountCalls(fetch: AuthorizedFetch, erased: () => Promise<void>): AccountCalls {
  return {
    async requestContactCode(input) {
      return await bodyOf(await fetch("/api/v1/me/contact/request", jsonBody("POST", input)));
    },
    async verifyContactCode({ requestId, code }) {
      const body = { request_id: requestId, code };
      const res = await fetch("/api/v1/me/contact/verify", jsonBody("POST", body));
      return (await bodyOf<{ user: PublicUser }>(res)).user;
    },
    async linkTelegram() {
      return await bodyOf(await fetch("/api/v1/me/telegram/link", { method: "POST" }));
    },
    async removeContact(kind) {
      await noContent(await fetch(`/api/v1/me/contact/${kind}`, { method: "DELETE" }));
    },
    async setPresenceVisibility(visibility) {
      const res = await fetch("/api/v1/me", jsonBody("PATCH", { presence_visibility: visibility }));
      return (await bodyOf<{ user: PublicUser }>(res)).user;
    },
    async presenceContacts() {
      const res = await fetch("/api/v1/me/presence-contacts");
      return (await bodyOf<{ user_ids: string[] }>(res)).user_ids;
    },
    async setPresenceContacts(userIds) {
      const res = await fetch(
        "/api/v1/me/presence-contacts",
        jsonBody("PUT", { user_ids: userIds }),
      );
      return (await bodyOf<{ user_ids: string[] }>(res)).user_ids;
    },
    async export() {
      return await bodyOf(await fetch("/api/v1/me/export"));
    },
    async delete() {
      await noContent(await fetch("/api/v1/me", { method: "DELETE" }));
      await erased();
    },
  };
}

/** The session calls over `fetch`. */
export function sessionCalls(fetch: AuthorizedFetch): SessionCalls {
  return {
    async list() {
      return (await bodyOf<{ sessions: SessionInfo[] }>(await fetch("/api/v1/sessions"))).sessions;
    },
    async end(id) {
      const path = `/api/v1/sessions/${encodeURIComponent(id)}`;
      await noContent(await fetch(path, { method: "DELETE" }));
    },
    async endOthers() {
      await noContent(await fetch("/api/v1/sessions", { method: "DELETE" }));
    },
  };
}
