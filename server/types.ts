import type { AccountStatus, PresenceView, PublicUser } from "../contract/api.ts";

/** The claims of a verified Doorman access token (README, "Verify Doorman tokens in your backend"). */
export interface AccessTokenClaims {
  /** The issuer: Doorman's `PUBLIC_URL`. */
  iss: string;
  /** Always `"doorman"`. */
  aud: string;
  /** The user's id (`usr_…`). */
  sub: string;
  /** The sign-in the token belongs to (`id` in `/api/v1/sessions`). */
  sid: string;
  /** The token's own id. */
  jti: string;
  /** The role at signing time; `introspect` tells the role as it is now. */
  role: "user" | "admin";
  /** Issued at, Unix seconds. */
  iat: number;
  /** Expires at, Unix seconds. */
  exp: number;
}

/** A user as the admin API lists it: with their presence. */
export interface AdminUser extends PublicUser {
  /** Online or not, and when last seen. */
  presence: { status: "online" | "offline"; last_seen: string | null };
}

/** `users.list`'s query: online, offline or all users, a search, a page. */
export interface UserListQuery {
  /** Default `all`. */
  status?: "online" | "offline" | "all";
  /** Part of a phone, email or id. */
  q?: string;
  /** Users per page (default 50). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

/** A page of users and the cursor of the next (null on the last). */
export interface UserList {
  /** The users of this page. */
  users: AdminUser[];
  /** Pass to the next call; null when there is no more. */
  cursor: string | null;
}

/** One sign-in of a user, as the admin API shows it. */
export interface AdminSession {
  /** The sign-in's id (`fam_…`), `sid` in its tokens. */
  id: string;
  /** When the sign-in was made. */
  created_at: string;
  /** When it was last used. */
  last_used_at: string;
  /** The browser or app, if it said. */
  user_agent: string | null;
  /** The address it signed in from, if known. */
  ip: string | null;
}

/** `users.get`'s answer: the user, their sign-ins, and recent events about them. */
export interface UserDetail {
  /** The user with their presence. */
  user: AdminUser;
  /** Active sign-ins. */
  sessions: AdminSession[];
  /** Up to 50 recent events about the user, newest first. */
  events: Record<string, unknown>[];
}

/** `users.update`'s change: a status, a role, or both. */
export interface UserPatch {
  /** Leaving `active` ends the user's sign-ins and sets them offline at once. */
  status?: AccountStatus;
  /** `admin` may use the admin API and the dashboard. */
  role?: "user" | "admin";
  /** With status `suspended`: when the suspension ends by itself (ISO 8601). */
  suspended_until?: string;
}

/** `auditLog`'s query: a page. */
export interface AuditQuery {
  /** Entries per page (default 50). */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

/** One entry of the audit log. */
export interface AuditEntry {
  /** The entry's id. */
  id: string;
  /** When the change was made. */
  at: string;
  /** Who made it: an admin (`user_id`) or an API key (`api_key_id`), and from where. */
  actor: { user_id?: string | null; api_key_id?: string | null; ip?: string | null };
  /** What was done: `user.update`, `api_key.create`, … */
  action: string;
  /** What it was done to. */
  target: string | null;
  /** The fields changed, from and to. */
  changes: Record<string, unknown> | null;
}

/** A page of the audit log, newest first. */
export interface AuditLog {
  /** The entries of this page. */
  entries: AuditEntry[];
  /** Pass to the next call; null when there is no more. */
  cursor: string | null;
}

/** `presence`'s answer: one entry per id asked (unknown ids are offline, never seen). */
export interface PresenceList {
  /** The users' presence. */
  users: PresenceView[];
}
