import type { InferRequestType, InferResponseType } from "hono/client";
import { useEffect, useRef, useState } from "preact/hooks";
import { ConfirmDialog } from "./ConfirmDialog.tsx";
import { api, ApiError, call } from "./lib/api.ts";
import { describe, subjectsOf } from "./lib/event_text.ts";
import { userName } from "./lib/format.ts";
import { ago, type LiveEvent, refreshOn } from "./lib/live.ts";
import { deviceOf } from "./lib/user_agent.ts";
import { LiveBadge } from "./LiveStatus.tsx";
import { LocalTime, TimeZoneNote } from "./LocalTime.tsx";
import { UserLink } from "./UserLink.tsx";

// `hc` names a route by its path, so the ids' patterns are part of the keys.
const userById = api.users[":id{[A-Za-z0-9_-]{1,64}}"];
const signInById = userById.sessions[":sid{fam_[0-9A-Za-z]{26}}"];

/** An event about the user, as the event stream sends it. */
type UserEvent = { id: string; kind: string; data: LiveEvent["data"] };
/** `GET /api/v1/admin/users/:id`. */
export type UserDetailBody =
  & Omit<InferResponseType<typeof userById.$get, 200>, "events">
  & { events: UserEvent[] };
type User = UserDetailBody["user"];
type SignIn = UserDetailBody["sessions"][number];
type Patch = InferRequestType<typeof userById.$patch>["json"];

/** A change of the account an admin is asked to confirm. */
type Change = { label: string; patch: Patch; danger: boolean };
/** What the dialog asks about: a change, or ending one sign-in (or all: `null`). */
type Ask = { change: Change } | { end: SignIn | null };

const DAY_MS = 86_400_000;
/** The furthest a suspension may be set to end (API: 366 days). */
const MAX_SUSPENSION_MS = 366 * DAY_MS;
/** Quick ends for a suspension. */
const PRESETS: [string, number][] = [
  ["1 hour", 3_600_000],
  ["1 day", DAY_MS],
  ["7 days", 7 * DAY_MS],
  ["30 days", 30 * DAY_MS],
];

/** The account changes offered: never suspending, banning or demoting oneself. */
function changesFor(user: User, self: string): Change[] {
  const own = user.id === self;
  const out: Change[] = [];
  if (user.status === "active") {
    if (!own) {
      out.push({ label: "Suspend", patch: { status: "suspended" }, danger: true });
      out.push({ label: "Ban", patch: { status: "banned" }, danger: true });
    }
  } else {
    out.push({ label: "Reactivate", patch: { status: "active" }, danger: false });
    if (user.status !== "banned") {
      out.push({ label: "Ban", patch: { status: "banned" }, danger: true });
    }
  }
  if (user.role !== "admin") {
    out.push({ label: "Make admin", patch: { role: "admin" }, danger: false });
  } else if (!own) {
    out.push({ label: "Remove admin", patch: { role: "user" }, danger: true });
  }
  return out;
}

/** Whether an event is about this user (its subject, or the target of an admin's change). */
function concerns(event: LiveEvent, id: string): boolean {
  return event.data.user_id === id || event.data.target === id;
}

/** A moment as a `datetime-local` input's value, in the browser's time zone. */
function inputValue(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${
    two(d.getMinutes())
  }`;
}

/**
 * One user for admins: who they are, their account with its actions (each confirmed first),
 * their presence, every active sign-in with "End", and their recent events, kept live from
 * the admin event stream.
 */
export default function UserDetail({ initial, self }: { initial: UserDetailBody; self: string }) {
  const [detail, setDetail] = useState(initial);
  const [asking, setAsking] = useState<Ask | null>(null);
  const [until, setUntil] = useState("");
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  const [, tick] = useState(0);
  const signInsHeading = useRef<HTMLHeadingElement>(null);
  const focusAfter = useRef<HTMLElement | null>(null);
  const id = initial.user.id;
  const user = detail.user;
  const name = userName(user);

  const refresh = () =>
    call(userById.$get({ param: { id } })).then(setDetail).catch(() => {
      // The next event or poll tries again.
    });

  useEffect(() => {
    const unsubscribe = refreshOn((event) => concerns(event, id), refresh, 250);
    // "2 min ago" keeps counting.
    const clock = setInterval(() => tick((n) => n + 1), 5_000);
    return () => {
      unsubscribe();
      clearInterval(clock);
    };
  }, []);

  const ask = (next: Ask) => {
    setFailed(null);
    setUntil("");
    setAsking(next);
  };

  const confirm = async (question: Ask) => {
    setBusy(true);
    setFailed(null);
    try {
      if ("change" in question) {
        const patch = question.change.patch.status === "suspended" && until
          ? { ...question.change.patch, suspended_until: new Date(until).toISOString() }
          : question.change.patch;
        const { user: changed } = await call(userById.$patch({ param: { id }, json: patch }));
        setDetail((d) => ({ ...d, user: { ...d.user, ...changed } }));
      } else {
        const ending = question.end;
        if (ending) await signInById.$delete({ param: { id, sid: ending.id } });
        else await userById.sessions.$delete({ param: { id } });
        setDetail((d) => ({
          ...d,
          sessions: ending ? d.sessions.filter((s) => s.id !== ending.id) : [],
        }));
        // The button that had focus went with its row: the list's heading keeps the place.
        focusAfter.current = signInsHeading.current;
      }
      setAsking(null);
      refresh();
    } catch (e) {
      setFailed(e instanceof ApiError ? e.message : "That did not work. Try again.");
    } finally {
      setBusy(false);
    }
  };

  const changes = changesFor(user, self);
  return (
    <div class="user-page">
      <div class="panels panels-even">
        <section class="panel" aria-labelledby="account-title">
          <h2 id="account-title" class="panel-title">Account</h2>
          <Identity user={user} />
        </section>
        <section class="panel" aria-labelledby="status-title">
          <div class="section-head">
            <h2 id="status-title" class="panel-title">Status</h2>
            <LiveBadge />
          </div>
          <dl class="facts">
            <dt>Account</dt>
            <dd data-testid="status-line">
              <span class={`pill pill-${user.status}`} data-testid="account-status">
                {user.status}
              </span>
              {user.suspended_until && (
                <span data-testid="suspended-until">
                  {" until "}
                  <LocalTime iso={user.suspended_until} date />
                </span>
              )}
            </dd>
            <dt>Role</dt>
            <dd data-testid="role">{user.role}</dd>
            <dt>Presence</dt>
            <dd>
              <Presence presence={user.presence} />
            </dd>
          </dl>
          {changes.length > 0 && (
            <div class="user-actions" role="group" aria-label="Change the account">
              {changes.map((change) => (
                <button
                  type="button"
                  key={change.label}
                  onClick={() => ask({ change })}
                >
                  {change.label}
                </button>
              ))}
            </div>
          )}
          {user.id === self && (
            <p class="muted small">
              This is you: you cannot suspend, ban or demote yourself.
            </p>
          )}
        </section>
      </div>

      <div class="section-head">
        <h2 ref={signInsHeading} tabIndex={-1}>
          Active sign-ins{" "}
          <span class="count" data-testid="sign-in-count">{detail.sessions.length}</span>
        </h2>
        {detail.sessions.length > 0 && (
          <button
            type="button"
            onClick={() => ask({ end: null })}
            data-testid="end-all"
          >
            End all sign-ins
          </button>
        )}
      </div>
      <SignIns sessions={detail.sessions} onEnd={(signIn) => ask({ end: signIn })} />

      <div class="section-head">
        <h2>Recent events</h2>
        <a href="/admin/events" class="small">All events</a>
      </div>
      <UserEvents events={detail.events} />

      <ConfirmDialog
        asking={asking}
        titleId="confirm-title"
        answer={(ask) =>
          "end" in ask
            ? { label: ask.end ? "End sign-in" : "End all", danger: true }
            : { label: ask.change.label, danger: ask.change.danger }}
        busy={busy}
        error={failed}
        onConfirm={confirm}
        onClose={() => setAsking(null)}
        focusAfter={focusAfter}
      >
        {(ask) => (
          <>
            <Question ask={ask} name={name} />
            {"change" in ask && ask.change.patch.status === "suspended" && (
              <UntilField value={until} onChange={setUntil} />
            )}
          </>
        )}
      </ConfirmDialog>
    </div>
  );
}

/** Phone, email, Telegram id, the user id (with a copy button) and when they signed up. */
function Identity({ user }: { user: User }) {
  const [copied, setCopied] = useState<string | null>(null);
  const idText = useRef<HTMLSpanElement>(null);
  const copy = () => {
    const done = (text: string) => {
      setCopied(text);
      setTimeout(() => setCopied(null), 2_000);
    };
    const select = () => {
      // No clipboard here (an insecure origin, say): select it for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(idText.current!);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
      done("Selected: press Ctrl+C");
    };
    if (!navigator.clipboard) return select();
    navigator.clipboard.writeText(user.id).then(() => done("Copied"), select);
  };
  return (
    <dl class="facts">
      <dt>Phone</dt>
      <dd data-testid="phone">{user.phone ?? <span class="muted">none</span>}</dd>
      <dt>Email</dt>
      <dd class="break">{user.email ?? <span class="muted">none</span>}</dd>
      <dt>Telegram</dt>
      <dd>{user.telegram_id ?? <span class="muted">not linked</span>}</dd>
      <dt>User id</dt>
      <dd class="id-row">
        <span class="mono break" ref={idText} data-testid="user-id">{user.id}</span>
        <button type="button" class="copy" onClick={copy} aria-label="Copy the user id">
          Copy
        </button>
        <span class="muted small" role="status">{copied}</span>
      </dd>
      <dt>Signed up</dt>
      <dd>
        <LocalTime iso={user.created_at} date />
      </dd>
    </dl>
  );
}

/** Online or offline, in words and a dot, and when last seen. */
function Presence({ presence }: { presence: User["presence"] }) {
  const online = presence.status === "online";
  return (
    <span class="presence-line">
      <span class={`dot ${online ? "dot-ok" : "dot-off"}`} aria-hidden="true" />
      <span data-testid="presence">{online ? "online" : "offline"}</span>
      {presence.last_seen && (
        <span class="muted small">
          {" · last seen "}
          <LocalTime iso={presence.last_seen} date /> ({ago(presence.last_seen)})
        </span>
      )}
      {!presence.last_seen && " "}
      {!presence.last_seen && <span class="muted small">· never seen</span>}
    </span>
  );
}

/** Every active sign-in: device, IP, when it began and was last used, and "End". */
function SignIns({ sessions, onEnd }: { sessions: SignIn[]; onEnd: (s: SignIn) => void }) {
  if (sessions.length === 0) {
    return (
      <p class="empty-state small" data-testid="no-sign-ins">
        No active sign-ins. The user signs in again with a code.
      </p>
    );
  }
  return (
    <>
      <div class="table-wrap">
        <table class="sign-ins cards-on-phone" data-testid="sign-ins">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP</th>
              <th scope="col">
                Signed in, <TimeZoneNote />
              </th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((signIn) => {
              const device = deviceOf(signIn.user_agent);
              return (
                <tr key={signIn.id} data-session={signIn.id}>
                  <td class="wide" data-label="Device">
                    <span
                      class="device"
                      title={signIn.user_agent ?? "The client sent no User-Agent"}
                      data-testid="device"
                    >
                      {device}
                    </span>
                    <div class="muted mono">{signIn.id}</div>
                  </td>
                  <td data-label="IP" class="mono">{signIn.ip ?? "—"}</td>
                  <td data-label="Signed in" class="nowrap">
                    <LocalTime iso={signIn.created_at} date />
                  </td>
                  <td data-label="Last used" class="nowrap">
                    <LocalTime iso={signIn.last_used_at} date />
                    <div class="muted small">{ago(signIn.last_used_at)}</div>
                  </td>
                  <td class="actions">
                    <button
                      type="button"
                      onClick={() => onEnd(signIn)}
                      aria-label={`End the sign-in on ${device}`}
                    >
                      End
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p class="muted small table-note">
        Last use is recorded at most once a minute, so it may lag by up to a minute.
      </p>
    </>
  );
}

/** The user's recent events, worded as on the Events page. */
function UserEvents({ events }: { events: UserEvent[] }) {
  if (events.length === 0) {
    return <p class="empty-state small">Nothing about this user in the last 24 hours.</p>;
  }
  return (
    <div class="feed user-feed">
      <ol data-testid="user-events">
        {events.map((event) => {
          const d = event.data;
          const by = subjectsOf(d).byUserId;
          return (
            <li key={event.id} class={`feed-item feed-${d.type.replace(".", "-")}`}>
              <LocalTime iso={d.at} date />
              <span class={`tag tag-${event.kind}`}>{d.type}</span>
              <span class="feed-text">{describe(d)}</span>
              <span class="feed-who">
                {by && (
                  <span class="by">
                    by <UserLink id={by} />
                  </span>
                )}
              </span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}

/** What the dialog asks, in words. */
function Question({ ask, name }: { ask: Ask; name: string }) {
  if ("end" in ask) {
    return ask.end
      ? (
        <>
          <h2 id="confirm-title">End this sign-in?</h2>
          <p>
            <strong>{deviceOf(ask.end.user_agent)}</strong>
            {ask.end.ip ? ` from ${ask.end.ip}` : ""}{" "}
            is signed out at once: its tokens stop working on every instance.
          </p>
        </>
      )
      : (
        <>
          <h2 id="confirm-title">End all sign-ins of {name}?</h2>
          <p>Every device is signed out at once, and the user goes offline.</p>
        </>
      );
  }
  const { patch } = ask.change;
  const [title, text] = patch.status === "suspended"
    ? [
      `Suspend ${name}?`,
      "They are signed out everywhere at once and cannot sign in until the time set below, or until reactivated.",
    ]
    : patch.status === "banned"
    ? [
      `Ban ${name}?`,
      "They are signed out everywhere at once and cannot sign in again unless reactivated.",
    ]
    : patch.status === "active"
    ? [`Reactivate ${name}?`, "They can sign in again with a code."]
    : patch.role === "admin"
    ? [`Make ${name} an admin?`, "They can use this dashboard and the admin API."]
    : [`Remove ${name}'s admin role?`, "They lose this dashboard and the admin API at once."];
  return (
    <>
      <h2 id="confirm-title">{title}</h2>
      <p>{text}</p>
    </>
  );
}

/** The optional end of a suspension: a local date and time, or a quick choice. */
function UntilField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const now = Date.now();
  return (
    <div class="until-field">
      <label for="suspend-until">
        Until <span class="muted">(optional, your local time)</span>
      </label>
      <input
        id="suspend-until"
        type="datetime-local"
        value={value}
        min={inputValue(now + 60_000)}
        max={inputValue(now + MAX_SUSPENSION_MS)}
        onInput={(e) => onChange((e.target as HTMLInputElement).value)}
      />
      <div class="presets" role="group" aria-label="Suspend for">
        {PRESETS.map(([label, ms]) => (
          <button
            type="button"
            key={label}
            onClick={() => onChange(inputValue(now + ms))}
          >
            {label}
          </button>
        ))}
      </div>
      <p class="muted small">
        Left empty, the suspension lasts until an admin lifts it. Otherwise it ends by itself.
      </p>
    </div>
  );
}
