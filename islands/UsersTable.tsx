import type { InferRequestType, InferResponseType } from "hono/client";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, call } from "../components/lib/api.ts";
import { userName } from "../components/lib/format.ts";
import { ago, subscribe } from "../components/lib/live.ts";
import { searchOf } from "../components/lib/live_list.ts";
import { LiveBadge } from "../components/LiveStatus.tsx";
import { LocalTime } from "../components/LocalTime.tsx";

// `hc` names a route by its path, so the id's pattern is part of the key.
const userById = api.users[":id{[A-Za-z0-9_-]{1,64}}"];

/** A page of `GET /api/v1/admin/users`. */
export type UsersPage = InferResponseType<typeof api.users.$get, 200>;
/** A row of `GET /api/v1/admin/users`. */
export type AdminUserRow = UsersPage["users"][number];

type UsersQuery = InferRequestType<typeof api.users.$get>["query"];
type Filter = NonNullable<UsersQuery["status"]>;
type Action = { label: string; patch: InferRequestType<typeof userById.$patch>["json"] };

/** What the list shows: presence, search, and the cursor its page starts at (none: newest). */
export interface UserFilters {
  status?: "online" | "offline";
  q?: string;
  cursor?: string;
}

const PAGE = "25";

function actionsFor(user: AdminUserRow, self: string): Action[] {
  if (user.id === self) return [];
  const actions: Action[] = [];
  if (user.status === "active") {
    actions.push({ label: "Suspend", patch: { status: "suspended" } });
  } else {
    actions.push({ label: "Reactivate", patch: { status: "active" } });
  }
  if (user.status !== "banned") actions.push({ label: "Ban", patch: { status: "banned" } });
  actions.push(
    user.role === "admin"
      ? { label: "Remove admin", patch: { role: "user" } }
      : { label: "Make admin", patch: { role: "admin" } },
  );
  return actions;
}

/** "1 user", "1,234 users". */
function usersText(n: number): string {
  return `${n.toLocaleString("en-US")} user${n === 1 ? "" : "s"}`;
}

/**
 * The live user list: presence dots, last seen, filters, search, pages and account actions,
 * each row linking to the user's page. Filter, search and page live in the URL.
 */
export default function UsersTable(
  { initial, filters: start, self }: { initial: UsersPage; filters: UserFilters; self: string },
) {
  const [users, setUsers] = useState(initial.users);
  const [cursor, setCursor] = useState(initial.cursor);
  const [total, setTotal] = useState(initial.total);
  // The cursors of the pages before this one (null: the first).
  const [pages, setPages] = useState<(string | null)[]>([]);
  const [filter, setFilter] = useState<Filter>(start.status ?? "all");
  const [q, setQ] = useState(start.q ?? "");
  const [confirming, setConfirming] = useState<{ id: string; action: Action } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, tick] = useState(0);
  // What the list shows now, for loads started by events and timers.
  const state = useRef({ filter, q: start.q ?? "", page: start.cursor ?? null });

  const load = (page: string | null = state.current.page) => {
    state.current.page = page;
    const { filter, q } = state.current;
    history.replaceState(
      null,
      "",
      searchOf({ status: filter === "all" ? undefined : filter, q, cursor: page ?? undefined }),
    );
    const query: UsersQuery = {
      status: filter,
      limit: PAGE,
      q: q || undefined,
      cursor: page ?? undefined,
    };
    return call(api.users.$get({ query }))
      .then((result) => {
        setUsers(result.users);
        setCursor(result.cursor);
        setTotal(result.total);
        setError(null);
      })
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load users."));
  };

  useEffect(() => {
    let reload: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = subscribe((event) => {
      const id = String(event.data.user_id ?? "");
      if (event.kind === "presence") {
        const status = event.data.status as AdminUserRow["presence"]["status"];
        let known = false;
        setUsers((rows) =>
          rows.map((row) => {
            if (row.id !== id) return row;
            known = true;
            return {
              ...row,
              presence: {
                status,
                last_seen: (event.data.last_seen as string) ?? row.presence.last_seen,
              },
            };
          })
        );
        // Someone not on this page changed: the filtered list may change shape.
        if (!known || state.current.filter !== "all") {
          clearTimeout(reload);
          reload = setTimeout(() => load(), 400);
        }
      } else if (event.data.type === "user.updated") {
        setUsers((rows) =>
          rows.map((row) =>
            row.id === id
              ? {
                ...row,
                status: event.data.status as AdminUserRow["status"],
                role: event.data.role as AdminUserRow["role"],
                suspended_until: (event.data.suspended_until as string | undefined) ?? null,
              }
              : row
          )
        );
      }
    }, () => load());
    // "5 s ago" keeps counting.
    const clock = setInterval(() => tick((n) => n + 1), 5_000);
    return () => {
      unsubscribe();
      clearInterval(clock);
      clearTimeout(reload);
    };
  }, []);

  const apply = async (id: string, action: Action) => {
    setConfirming(null);
    setError(null);
    try {
      const { user } = await call(userById.$patch({ param: { id }, json: action.patch }));
      setUsers((rows) => rows.map((row) => (row.id === id ? { ...row, ...user } : row)));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "The change failed.");
    }
  };

  /** Back to the first page, with the filter and search as they are now. */
  const restart = () => {
    setPages([]);
    load(null);
  };

  const choose = (next: Filter) => {
    setFilter(next);
    state.current.filter = next;
    restart();
  };

  const onFirstPage = state.current.page === null;
  return (
    <div>
      <div class="toolbar">
        <div class="segmented" role="group" aria-label="Filter by presence">
          {(["all", "online", "offline"] as const).map((f) => (
            <button
              type="button"
              key={f}
              aria-pressed={filter === f}
              onClick={() => choose(f)}
              data-testid={`filter-${f}`}
            >
              {f[0].toUpperCase() + f.slice(1)}
            </button>
          ))}
        </div>
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            state.current.q = q.trim();
            restart();
          }}
        >
          <input
            type="search"
            placeholder="Phone, email or user id"
            aria-label="Search users"
            value={q}
            maxLength={254}
            onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          />
          <button type="submit">Search</button>
        </form>
        <a
          class="button-link"
          href="/api/v1/admin/users.csv"
          download
          data-testid="export-users"
        >
          Export CSV
        </a>
        <LiveBadge />
      </div>
      {error && <p class="alert" role="alert">{error}</p>}
      <div class="table-wrap">
        <table class="users cards-on-phone">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Presence</th>
              <th scope="col">Account</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.length === 0 && (
              <tr class="empty-row">
                <td colSpan={5} class="empty">No users match.</td>
              </tr>
            )}
            {users.map((user) => (
              <tr key={user.id} data-user={user.id}>
                <td class="wide">
                  <a
                    class="who"
                    href={`/admin/users/${encodeURIComponent(user.id)}`}
                    data-testid="user-link"
                  >
                    {userName(user)}
                  </a>
                  <div class="muted mono">{user.id}</div>
                </td>
                <td data-label="Presence">
                  <span
                    class={`dot ${user.presence.status === "online" ? "dot-ok" : "dot-off"}`}
                    aria-hidden="true"
                  />
                  <span data-testid="presence">{user.presence.status}</span>
                  <div class="muted">
                    {user.presence.status === "online"
                      ? "now"
                      : `seen ${ago(user.presence.last_seen)}`}
                  </div>
                </td>
                <td data-label="Account">
                  <span class={`pill pill-${user.status}`} data-testid="account-status">
                    {user.status}
                  </span>
                  {user.suspended_until && (
                    <div class="muted small">
                      until <LocalTime iso={user.suspended_until} date />
                    </div>
                  )}
                </td>
                <td data-label="Role">{user.role}</td>
                <td class="actions">
                  {confirming?.id === user.id
                    ? (
                      <span class="confirm" role="group" aria-label="Confirm">
                        <span>{confirming.action.label}?</span>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => apply(user.id, confirming.action)}
                        >
                          Yes
                        </button>
                        <button type="button" onClick={() => setConfirming(null)}>Cancel</button>
                      </span>
                    )
                    : actionsFor(user, self).map((action) => (
                      <button
                        type="button"
                        key={action.label}
                        onClick={() => setConfirming({ id: user.id, action })}
                      >
                        {action.label}
                      </button>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <span class="muted" data-testid="users-total">{usersText(total)}</span>
        <button
          type="button"
          disabled={onFirstPage}
          onClick={() => {
            // After a reload the pages before are unknown: "Previous" starts over.
            const back = pages.at(-1) ?? null;
            setPages(pages.slice(0, -1));
            load(back);
          }}
        >
          Previous
        </button>
        <button
          type="button"
          disabled={!cursor}
          onClick={() => {
            setPages([...pages, state.current.page]);
            load(cursor);
          }}
        >
          Next
        </button>
      </div>
    </div>
  );
}
