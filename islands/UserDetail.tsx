import { useEffect, useRef, useState } from "preact/hooks";
import { ConfirmDialog } from "../components/ConfirmDialog.tsx";
import { ApiError, call } from "../components/lib/api.ts";
import { userName } from "../components/lib/format.ts";
import { type LiveEvent, refreshOn } from "../components/lib/live.ts";
import { LiveBadge } from "../components/LiveStatus.tsx";
import { LocalTime } from "../components/LocalTime.tsx";
import {
  type Ask,
  changesFor,
  signInById,
  userById,
  type UserDetailBody,
} from "../components/user/api.ts";
import { Question, UntilField } from "../components/user/Confirmations.tsx";
import { ContactChanges } from "../components/user/ContactChanges.tsx";
import { Identity, Presence } from "../components/user/Identity.tsx";
import { SessionsTable } from "../components/user/SessionsTable.tsx";
import { UserEvents } from "../components/user/UserEvents.tsx";

/** Whether an event is about this user (its subject, or the target of an admin's change). */
function concerns(event: LiveEvent, id: string): boolean {
  return event.data.user_id === id || event.data.target === id;
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
      if ("erase" in question) {
        await userById.$delete({ param: { id } }); // a refusal throws ApiError
        // Nothing is left to show: back to the list, where the user is gone.
        location.assign("/admin/users");
        return;
      }
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
          <h3 class="panel-subtitle">Contact changes</h3>
          <ContactChanges events={detail.events} />
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
          {user.id === self
            ? (
              <p class="muted small">
                This is you: you cannot suspend, ban, demote or delete yourself here.
              </p>
            )
            : (
              <div class="user-actions">
                <button
                  type="button"
                  class="danger-quiet"
                  onClick={() => ask({ erase: true })}
                  data-testid="delete-user"
                >
                  Delete user…
                </button>
              </div>
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
      <SessionsTable sessions={detail.sessions} onEnd={(signIn) => ask({ end: signIn })} />

      <div class="section-head">
        <h2>Recent events</h2>
        <a href="/admin/events" class="small">All events</a>
      </div>
      <UserEvents events={detail.events} />

      <ConfirmDialog
        asking={asking}
        titleId="confirm-title"
        answer={(ask) =>
          "erase" in ask
            ? { label: "Delete user", danger: true }
            : "end" in ask
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
