/** What the user page's dialog asks, in words, and the end a suspension may be given. */
import { deviceOf } from "../lib/user_agent.ts";
import type { Ask } from "./api.ts";

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

/** A moment as a `datetime-local` input's value, in the browser's time zone. */
function inputValue(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${
    two(d.getMinutes())
  }`;
}

/** What the dialog asks, in words. */
export function Question({ ask, name }: { ask: Ask; name: string }) {
  if ("erase" in ask) {
    return (
      <>
        <h2 id="confirm-title">Delete {name} for good?</h2>
        <p>
          The account and everything Doorman keeps about it are erased: contacts, sign-ins, presence
          and events. They are signed out everywhere at once. The audit log keeps the id only. This
          cannot be undone; the same phone or email may sign up again as a new user.
        </p>
      </>
    );
  }
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
export function UntilField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
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
