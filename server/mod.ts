/**
 * Doorman's SDK for an app's backend (Deno and Node): verify Doorman access tokens offline
 * against the published JWKS, ask Doorman whether a token still works (introspection), and
 * call the admin API with a server API key. It imports only jose and the wire types of
 * contract/api.ts. README, "Verify Doorman tokens in your backend".
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from "jose";
import { DoormanError, errorOf, unauthorized } from "./errors.ts";
import { JwksCache } from "./jwks.ts";
import type {
  AccessTokenClaims,
  AuditLog,
  AuditQuery,
  PresenceList,
  UserDetail,
  UserList,
  UserListQuery,
  UserPatch,
} from "./types.ts";
import type { Introspection, PublicUser } from "../contract/api.ts";

export type {
  AccountStatus,
  ErrorCode,
  Introspection,
  PresenceView,
  PublicUser,
} from "../contract/api.ts";
export { DoormanError, type DoormanErrorInit } from "./errors.ts";
export type * from "./types.ts";

/** Where Doorman is, the API key for introspection and admin calls, and the platform. */
export interface DoormanServerOptions {
  /** Doorman's origin, with a path prefix if it is served under one: `https://auth.example.com`. */
  baseUrl: string;
  /** A server API key (`dk_…`); needed by `introspect` and the admin calls. */
  apiKey?: string;
  /** The `iss` tokens must carry: Doorman's `PUBLIC_URL`; default `baseUrl` without a trailing `/`. */
  issuer?: string;
  /** Default: the platform's `fetch`. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** The clock in ms (token expiry, JWKS age); default `Date.now`. For tests. */
  now?: () => number;
}

/** A backend's handle on Doorman: token checks and the admin calls its key's scopes allow. */
export interface DoormanServer {
  /**
   * The claims of a valid access token, checked offline: signed by a key of Doorman's JWKS
   * (ES256 or EdDSA), `typ` `at+jwt`, issuer, audience `doorman`, not expired. Throws
   * `DoormanError` 401 otherwise. A logout is seen only when the token expires: use
   * `introspect` where that matters.
   */
  verifyAccessToken(token: string): Promise<AccessTokenClaims>;
  /** Whether the token works right now (signed-out, suspended and deleted users: inactive). */
  introspect(token: string): Promise<Introspection>;
  /** Users (`users:read` to read, `users:write` to change). */
  users: {
    /** A page of users with their presence. */
    list(query?: UserListQuery): Promise<UserList>;
    /** One user, their sign-ins and recent events; 404 `NOT_FOUND` if unknown. */
    get(id: string): Promise<UserDetail>;
    /** Changes a user's status or role; leaving `active` ends their sign-ins at once. */
    update(id: string, patch: UserPatch): Promise<{ user: PublicUser }>;
    /** Ends one sign-in of the user (`sid`), or all of them (the user goes offline). */
    endSessions(id: string, sid?: string): Promise<void>;
    /**
     * Erases the user and everything about them (`users:write`); their sign-ins end at once and
     * the id reads as unknown from then on. 404 `NOT_FOUND` if unknown or already erased.
     */
    delete(id: string): Promise<void>;
    /**
     * Sets who sees the user online when their visibility is `contacts` (`contacts:write`; at
     * most 1,000 ids); resolves to the list as stored.
     */
    setPresenceContacts(id: string, userIds: string[]): Promise<{ user_ids: string[] }>;
  };
  /** Presence of up to 100 users (`presence:read`: everyone, whatever their visibility). */
  presence(userIds: string[]): Promise<PresenceList>;
  /** A page of the audit log, newest first (`events:read`). */
  auditLog(query?: AuditQuery): Promise<AuditLog>;
}

const MAX_TOKEN_LENGTH = 4096;

/** A backend's handle on the Doorman at `options.baseUrl`. */
export function createDoormanServer(options: DoormanServerOptions): DoormanServer {
  const base = options.baseUrl.replace(/\/+$/, "");
  const issuer = options.issuer ?? base;
  const fetchFn = options.fetch ?? ((url, init) => fetch(url, init));
  const now = options.now ?? Date.now;
  const jwks = new JwksCache({ url: `${base}/.well-known/jwks.json`, fetch: fetchFn, now });

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!options.apiKey) {
      throw new DoormanError({
        status: 401,
        code: "UNAUTHORIZED",
        message: "This call needs an API key: pass apiKey to createDoormanServer.",
      });
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.apiKey}`,
      accept: "application/json",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetchFn(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw await errorOf(res);
    if (res.status === 204) {
      await res.body?.cancel();
      return undefined as T;
    }
    return await res.json() as T;
  }

  const user = (id: string) => `/api/v1/admin/users/${encodeURIComponent(id)}`;

  return {
    async verifyAccessToken(token) {
      if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw unauthorized("Access token is not valid.");
      }
      try {
        const { kid, alg } = decodeProtectedHeader(token);
        if (typeof kid !== "string") throw unauthorized("Access token names no signing key.");
        const known = await jwks.key(kid);
        if (!known) throw unauthorized("Access token is signed by an unknown key.");
        if (alg !== known.alg) throw unauthorized("Access token is not valid.");
        const { payload } = await jwtVerify(token, known.key, {
          algorithms: [known.alg],
          issuer,
          audience: "doorman",
          typ: "at+jwt",
          currentDate: new Date(now()),
          requiredClaims: ["sub", "sid", "iat", "exp"],
        });
        if (payload.token_use !== undefined && payload.token_use !== "access") {
          throw unauthorized("Access token is not valid.");
        }
        return payload as unknown as AccessTokenClaims;
      } catch (error) {
        if (error instanceof DoormanError) throw error;
        if (error instanceof joseErrors.JWTExpired) throw unauthorized("Access token has expired.");
        if (error instanceof joseErrors.JOSEError || error instanceof TypeError) {
          throw unauthorized("Access token is not valid.");
        }
        throw error;
      }
    },
    introspect: (token) => call("POST", "/api/v1/auth/introspect", { token }),
    users: {
      list: (query = {}) => call("GET", `/api/v1/admin/users${search(query)}`),
      get: (id) => call("GET", user(id)),
      update: (id, patch) => call("PATCH", user(id), patch),
      endSessions: (id, sid) =>
        call("DELETE", `${user(id)}/sessions${sid ? `/${encodeURIComponent(sid)}` : ""}`),
      delete: (id) => call("DELETE", user(id)),
      setPresenceContacts: (id, userIds) =>
        call("PUT", `${user(id)}/presence-contacts`, { user_ids: userIds }),
    },
    presence: (userIds) =>
      call("GET", `/api/v1/presence?user_ids=${userIds.map(encodeURIComponent).join(",")}`),
    auditLog: (query = {}) => call("GET", `/api/v1/admin/audit${search(query)}`),
  };
}

function search(query: object): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}
