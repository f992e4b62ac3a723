/// <reference lib="dom" />
/** Same-origin JSON calls from the dashboard (the session cookie rides along). */

/** An error answer of the API, as API.md shapes it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** Calls the API; throws `ApiError` for non-2xx answers. */
export async function api<T>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<T> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("content-type", "application/json");
  const res = await fetch(path, {
    ...rest,
    headers,
    body: json === undefined ? rest.body : JSON.stringify(json),
    credentials: "same-origin",
  });
  if (res.status === 401) {
    // The session ended: back to the sign-in page.
    location.assign(`/admin/login?next=${encodeURIComponent(location.pathname)}`);
  }
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const error = body?.error ?? {};
    throw new ApiError(
      res.status,
      error.code ?? "INTERNAL",
      error.message ?? res.statusText,
      error.details,
    );
  }
  return body as T;
}
