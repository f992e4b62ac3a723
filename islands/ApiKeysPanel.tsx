import type { InferResponseType } from "hono/client";
import { useRef, useState } from "preact/hooks";
import { ConfirmDialog } from "../components/ConfirmDialog.tsx";
import { api, ApiError, call } from "../components/lib/api.ts";
import { LocalTime } from "../components/LocalTime.tsx";

const keysApi = api["api-keys"];
/** `GET /api/v1/admin/api-keys`. */
export type ApiKeyList = InferResponseType<typeof keysApi.$get, 200>;
type ApiKeyRow = ApiKeyList["keys"][number];

/** Server API keys: the list (prefix, scopes, creator, last use), a create form, revoke. */
export default function ApiKeysPanel(
  { initial, scopes }: { initial: ApiKeyList; scopes: string[] },
) {
  const [keys, setKeys] = useState(initial.keys);
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [expires, setExpires] = useState("");
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [asking, setAsking] = useState<ApiKeyRow | null>(null);
  const [busy, setBusy] = useState(false);
  const [revokeError, setRevokeError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const focusAfter = useRef<HTMLElement | null>(null);

  const toggle = (scope: string) => {
    const next = new Set(chosen);
    if (next.has(scope)) next.delete(scope);
    else next.add(scope);
    setChosen(next);
  };

  const create = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    setCopied(false);
    if (chosen.size === 0) return setProblem("Choose at least one scope.");
    setBusy(true);
    try {
      const json: { name: string; scopes: typeof scopes; expires_at?: string } = {
        name,
        scopes: [...chosen],
      };
      if (expires) json.expires_at = new Date(`${expires}T23:59:59`).toISOString();
      const answer = await call(
        keysApi.$post({ json: json as Parameters<typeof keysApi.$post>[0]["json"] }),
      );
      setKeys((list) => [...list, answer.key]);
      setCreated({ name: answer.key.name, secret: answer.secret });
      setName("");
      setChosen(new Set());
      setExpires("");
    } catch (error) {
      setProblem(error instanceof ApiError ? error.message : "Creating the key failed.");
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (key: ApiKeyRow) => {
    setBusy(true);
    setRevokeError(null);
    try {
      await keysApi[":id{key_[0-9A-Za-z]{26}}"].$delete({ param: { id: key.id } });
      setKeys((list) => list.filter((k) => k.id !== key.id));
      focusAfter.current = heading.current;
      setAsking(null);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        setKeys((list) => list.filter((k) => k.id !== key.id));
        setAsking(null);
      } else setRevokeError(error instanceof ApiError ? error.message : "Revoking failed.");
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!created) return;
    await navigator.clipboard.writeText(created.secret).then(() => setCopied(true), () => {});
  };

  return (
    <div class="api-keys">
      {created && (
        <div class="notice" role="status" data-testid="new-secret">
          <p>
            The secret of <strong>{created.name}</strong>{" "}
            is shown only now. Copy it into your backend's configuration:
          </p>
          <p>
            <code class="mono" data-testid="secret">{created.secret}</code>{" "}
            <button type="button" onClick={copy}>{copied ? "Copied" : "Copy"}</button>{" "}
            <button type="button" class="link" onClick={() => setCreated(null)}>Done</button>
          </p>
        </div>
      )}

      <div class="section-head">
        <h2 ref={heading} tabIndex={-1}>
          Keys <span class="count" data-testid="key-count">{keys.length}</span>
        </h2>
      </div>
      {keys.length === 0
        ? <p class="muted" data-testid="no-keys">No API key yet.</p>
        : (
          <div class="table-wrap">
            <table class="cards-on-phone" data-testid="api-keys">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Created by</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.map((key) => (
                  <tr key={key.id} data-key={key.id}>
                    <td data-label="Name">{key.name}</td>
                    <td data-label="Prefix" class="mono">{key.prefix}…</td>
                    <td data-label="Scopes">{key.scopes.join(", ")}</td>
                    <td data-label="Created by">
                      <a href={`/admin/users/${key.created_by}`} class="mono">{key.created_by}</a>
                      {" "}
                      <LocalTime iso={key.created_at} date />
                    </td>
                    <td data-label="Last used" class="nowrap">
                      {key.last_used_at ? <LocalTime iso={key.last_used_at} date /> : "never"}
                    </td>
                    <td data-label="Expires" class="nowrap">
                      {key.expires_at ? <LocalTime iso={key.expires_at} date /> : "never"}
                    </td>
                    <td class="actions">
                      <button
                        type="button"
                        onClick={() => setAsking(key)}
                        aria-label={`Revoke the key ${key.name}`}
                      >
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}

      <form class="panel" onSubmit={create} data-testid="create-key">
        <h2>Create a key</h2>
        <div class="field">
          <label for="key-name">Name</label>
          <input
            id="key-name"
            required
            maxLength={100}
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <fieldset class="field">
          <legend>Scopes</legend>
          {scopes.map((scope) => (
            <label key={scope} class="mono">
              <input
                type="checkbox"
                name="scopes"
                value={scope}
                checked={chosen.has(scope)}
                onChange={() => toggle(scope)}
              />{" "}
              {scope}
            </label>
          ))}
        </fieldset>
        <div class="field">
          <label for="key-expires">Expires (optional)</label>
          <input
            id="key-expires"
            type="date"
            value={expires}
            onInput={(e) => setExpires((e.target as HTMLInputElement).value)}
          />
        </div>
        {problem && <p class="error-text" role="alert">{problem}</p>}
        <div class="form-actions">
          <button type="submit" class="primary" disabled={busy}>Create key</button>
        </div>
      </form>

      <ConfirmDialog
        asking={asking}
        titleId="revoke-title"
        answer={() => ({ label: busy ? "Revoking…" : "Revoke key", danger: true })}
        busy={busy}
        error={revokeError}
        onConfirm={revoke}
        onClose={() => {
          setAsking(null);
          setRevokeError(null);
        }}
        focusAfter={focusAfter}
      >
        {(key) => (
          <>
            <h2 id="revoke-title">Revoke the key {key.name}?</h2>
            <p>
              Calls with <span class="mono">{key.prefix}…</span>{" "}
              are refused from now on, on every instance within a second. This cannot be undone.
            </p>
          </>
        )}
      </ConfirmDialog>
    </div>
  );
}
