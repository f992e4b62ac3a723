/// <reference lib="dom" />
/**
 * The dashboard's typed client of the admin API, built with Hono's `hc` from the routes' own
 * types: same-origin calls, the session cookie rides along.
 */
import { type ClientResponse, hc } from "hono/client";
import type { AdminApi } from "../../routes/api/v1/admin.ts";

/** An error answer of the API (README, "Errors"). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
    /** Seconds until trying again can succeed (`error.retry_after`), when the server says. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** `fetch` for the client: a 401 goes back to sign-in, and a non-2xx answer throws `ApiError`. */
async function adminFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const res = await fetch(input, { ...init, credentials: "same-origin" });
  if (res.status === 401) {
    // The session ended: back to the sign-in page.
    location.assign(`/admin/login?next=${encodeURIComponent(location.pathname)}`);
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  let error: {
    code?: string;
    message?: string;
    details?: ApiError["details"];
    retry_after?: number;
  } = {};
  try {
    error = (text ? JSON.parse(text) : null)?.error ?? {};
  } catch {
    // Not ours (a proxy's error page, say): the status says what there is to say.
  }
  return new ApiError(
    res.status,
    error.code ?? "INTERNAL",
    error.message ?? res.statusText,
    error.details,
    typeof error.retry_after === "number" ? error.retry_after : null,
  );
}

/** The admin API (`/api/v1/admin`), typed by its routes: `api.users.$get({ query })`. */
export const api = hc<AdminApi>("/api/v1/admin", { fetch: adminFetch });

/** The JSON of an answer, typed by its route: `await call(api.stats.$get())`. */
export async function call<T>(request: Promise<ClientResponse<T, number, "json">>): Promise<T> {
  return await (await request).json();
}
