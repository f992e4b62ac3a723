import { useRef, useState } from "preact/hooks";
import { ago } from "../lib/live.ts";
import { LocalTime } from "../LocalTime.tsx";
import type { User } from "./api.ts";

/** Phone, email, Telegram id, the user id (with a copy button) and when they signed up. */
export function Identity({ user }: { user: User }) {
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
      <dt>Presence shown to</dt>
      <dd data-testid="presence-visibility">
        {user.presence_visibility === "contacts"
          ? "their presence contacts"
          : user.presence_visibility === "nobody"
          ? "nobody"
          : "everyone"}
      </dd>
      <dt>Signed up</dt>
      <dd>
        <LocalTime iso={user.created_at} date />
      </dd>
    </dl>
  );
}

/** Online or offline, in words and a dot, and when last seen. */
export function Presence({ presence }: { presence: User["presence"] }) {
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
