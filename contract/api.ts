/**
 * The wire types of the HTTP and WebSocket contract (README, "API in brief" and "The WebSocket
 * protocol"; the OpenAPI at `/docs`), shared by the server and the client SDK. Types only and no
 * imports, so a browser bundle of `client/` takes nothing else from the server: core's answers are
 * declared with these types, and tests/client/sdk_test.ts checks that the routes' zod schemas take
 * exactly the request bodies below.
 */

/** Every error code a client can receive (README, "Errors"). */
export type ErrorCode =
  | "VALIDATION_FAILED"
  | "INVALID_CODE"
  | "UNAUTHORIZED"
  | "ACCOUNT_DISABLED"
  | "FORBIDDEN"
  | "REAUTH_REQUIRED"
  | "RECIPIENT_NOT_ALLOWED"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "RATE_LIMITED"
  | "TOO_MANY_ATTEMPTS"
  | "CHANNEL_UNAVAILABLE"
  | "SHUTTING_DOWN"
  | "INTERNAL";

/** The body of every non-2xx answer under `/api/`. */
export interface ErrorBody {
  /** What went wrong: a code to act on and a message for people. */
  error: {
    code: ErrorCode;
    message: string;
    /** Seconds to wait (`RATE_LIMITED`, `SHUTTING_DOWN`), as in the `Retry-After` header. */
    retry_after?: number;
    /** `INVALID_CODE`, when known. */
    attempts_left?: number;
    /** `VALIDATION_FAILED`: what did not match. */
    details?: { path: string; message: string }[];
    /** `ACCOUNT_DISABLED`: the account's status. */
    status?: AccountStatus;
    /** `CONFLICT`: which state the change contradicts (`contact_in_use`, `last_contact`, …). */
    reason?: string;
  };
}

/** Account states; only `active` may sign in and be online. */
export type AccountStatus = "active" | "inactive" | "suspended" | "banned";

/** A user as the API shows it. */
export interface PublicUser {
  /** The user's id (`usr_…`). */
  id: string;
  /** E.164 phone number, if the account has one. */
  phone: string | null;
  /** Email address (lower case), if the account has one. */
  email: string | null;
  /** Telegram user id, once linked through the bot. */
  telegram_id: string | null;
  /** Only `active` may sign in and be online. */
  status: AccountStatus;
  /** `admin` may use `/api/v1/admin/*` and the dashboard. */
  role: "user" | "admin";
  /** When the account was created (ISO 8601). */
  created_at: string;
  /** Who sees the user's online status and last seen (README, "Who sees you online"). */
  presence_visibility: PresenceVisibility;
}

/** Who sees a user's presence: everyone, only their presence contacts, or nobody else. */
export type PresenceVisibility = "everyone" | "contacts" | "nobody";

/** `POST /api/v1/auth/otp/request`: a phone or an email, or neither for Telegram deep links. */
export interface CodeRequestBody {
  /** Where to send the code: E.164 with the country code (spaces, dashes, brackets ignored). */
  phone?: string;
  /** Where to send the code by email. */
  email?: string;
  /** For a phone `auto` (the default), `sms` or `telegram`; an email always goes by email. */
  channel?: "auto" | "sms" | "telegram" | "email";
  /** A BCP 47 tag (`de`, `pt-BR`); without it, `Accept-Language` decides. */
  locale?: string;
}

/** The 202 answer of a code request. */
export interface CodeRequested {
  /** The id to verify the code against. */
  request_id: string;
  /** The channel the code went out on. */
  channel: "sms" | "email" | "telegram";
  /** Seconds the code stays good. */
  expires_in: number;
  /** Seconds until a new code may be asked for the same recipient. */
  resend_after: number;
  /** Only when the channel is `telegram`. */
  deep_link?: string;
}

/** `POST /api/v1/auth/otp/verify`. */
export interface CodeVerifyBody {
  /** The `request_id` of the code request. */
  request_id: string;
  /** The code the person received. */
  code: string;
}

/** The answer of verify and refresh. */
export interface TokenPair {
  /** The access token (HS256 JWT), sent as `Authorization: Bearer …`. */
  access_token: string;
  /** The opaque refresh token: works once, and its use rotates the pair. */
  refresh_token: string;
  /** Always `Bearer`. */
  token_type: "Bearer";
  /** Seconds the access token stays good. */
  expires_in: number;
  /** The signed-in user. */
  user: PublicUser;
}

/** A user's presence as the API shows it. */
export interface PresenceView {
  /** Whose presence it is. */
  user_id: string;
  /** `online` while heartbeats or an open socket keep coming within the presence timeout. */
  status: "online" | "offline";
  /** When the user was last active (ISO 8601), or null if never. */
  last_seen: string | null;
}

/** The answer of a heartbeat: the user's presence, and when to send the next one. */
export interface HeartbeatAnswer {
  /** The user's status after this heartbeat. */
  status: "online" | "offline";
  /** When the user was last active (ISO 8601), or null if never. */
  last_seen: string | null;
  /** Seconds until the next heartbeat is due. */
  next_heartbeat_in: number;
}

/** `POST /api/v1/presence/ws-ticket`: a single-use ticket that opens one presence socket. */
export interface SocketTicketAnswer {
  /** Goes in the socket's URL: `/api/v1/presence/ws?ticket=…`. */
  ticket: string;
  /** Seconds it stays good (30). */
  expires_in: number;
}

/** What a client sends on the presence WebSocket. */
export type PresenceClientMessage =
  | { type: "ping" }
  | { type: "subscribe" | "unsubscribe"; user_ids: string[] };

/** What the server sends on the presence WebSocket. */
export type PresenceServerMessage =
  | { type: "ready"; user_id: string }
  | { type: "pong" }
  | ({ type: "presence" } & PresenceView)
  | { type: "error"; code: ErrorCode; message: string };

/** The presence WebSocket's close codes, besides 1001 (the server shuts down). */
export interface PresenceCloseCodes {
  /** The socket's sign-in ended (logout, revoked, refresh-token reuse, account deleted). */
  signedOut: 4001;
  /** The account is not active. */
  disabled: 4003;
  /** Over 60 messages in 10 s. */
  policy: 1008;
  /** A message over 4 KiB, or not text. */
  tooBig: 1009;
  /** The user opened an 11th socket on the instance: the oldest closes. */
  replaced: 4009;
}

/** A sign-in as `GET /api/v1/sessions` lists it. */
export interface SessionInfo {
  /** The session id (`fam_…`), the `sid` claim of its access tokens. */
  id: string;
  /** When the code was verified (ISO 8601). */
  created_at: string;
  /** When it was last used (ISO 8601; lags by at most a minute). */
  last_used_at: string;
  /** The `User-Agent` it signed in with. */
  user_agent: string | null;
  /** The IP address it signed in from. */
  ip: string | null;
  /** Whether it is the sign-in making this call. */
  current: boolean;
}

/** `POST /api/v1/me/contact/request`: an email, or a phone with the way to send its code. */
export interface ContactRequestBody {
  /** The new email address. */
  email?: string;
  /** The new phone number, E.164 with the country code. */
  phone?: string;
  /** For a phone: `auto` (the default), `sms` or `telegram`. */
  channel?: "auto" | "sms" | "telegram";
}

/** `POST /api/v1/me/telegram/link`: the link that ties a Telegram account to the caller. */
export interface TelegramLinkAnswer {
  /** `https://t.me/<bot>?start=…`: pressing Start there links the chat's account. */
  deep_link: string;
  /** Seconds the link stays good. */
  expires_in: number;
}

/** `GET /api/v1/me/export`: everything Doorman keeps about the caller. */
export interface AccountExport {
  /** The account. */
  user: PublicUser;
  /** Active sign-ins. */
  sessions: Omit<SessionInfo, "current">[];
  /** Who sees the caller online. */
  presence: { visibility: PresenceVisibility; contacts: string[] };
  /** Events about the caller from the last 24 h, oldest first, as the event stream sends them. */
  events: {
    id: string;
    kind: string;
    data: { type: string; at: string } & Record<string, unknown>;
  }[];
}

/** `POST /api/v1/auth/introspect`: whether a token works right now (RFC 7662's shape). */
export type Introspection =
  | {
    active: true;
    sub: string;
    sid: string;
    exp: number;
    iat: number;
    role: "user" | "admin";
    status: AccountStatus;
  }
  | { active: false };
