import type { InferResponseType } from "hono/client";
import { useRef, useState } from "preact/hooks";
import { ConfirmDialog } from "../components/ConfirmDialog.tsx";
import { api, ApiError, call } from "../components/lib/api.ts";
import { LocalTime } from "../components/LocalTime.tsx";

const keysApi = api["signing-keys"];
const oneKey = keysApi[":kid{[A-Za-z0-9_-]{1,64}}"];
/** `GET /api/v1/admin/signing-keys`. */
export type SigningKeyList = InferResponseType<typeof keysApi.$get, 200>;
type SigningKeyRow = SigningKeyList["keys"][number];

/** What each state means, said in words next to its badge. */
const STATE_HELP: Record<SigningKeyRow["state"], string> = {
  standby: "published, not signing yet",
  current: "signs new tokens",
  previous: "verifies tokens it signed until they expire",
  revoked: "tokens it signed are refused",
};

/**
 * Signing keys, newest first: state and dates; "Create standby key", "Activate" on a standby
 * key, "Revoke" (after a confirmation) on a standby or previous one. The list is read again
 * after every action, so what another admin changed meanwhile shows too.
 */
export default function SigningKeysPanel(
  { initial, publishSeconds }: { initial: SigningKeyList; publishSeconds: number },
) {
  const [keys, setKeys] = useState(initial.keys);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [asking, setAsking] = useState<SigningKeyRow | null>(null);
  const [revokeError, setRevokeError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const focusAfter = useRef<HTMLElement | null>(null);

  const refresh = async () => {
    try {
      setKeys((await call(keysApi.$get())).keys);
    } catch {
      // The action's own answer already said how it went; the next one reads the list again.
    }
  };

  const act = async (what: () => Promise<unknown>, failed: string) => {
    setBusy(true);
    setProblem(null);
    try {
      await what();
    } catch (error) {
      setProblem(errorText(error, failed));
    } finally {
      await refresh();
      setBusy(false);
    }
  };

  const create = () => act(() => call(keysApi.$post()), "Creating the key failed.");
  const activate = (key: SigningKeyRow) =>
    act(() => call(oneKey.activate.$post({ param: { kid: key.kid } })), "Activating failed.");

  const revoke = async (key: SigningKeyRow) => {
    setBusy(true);
    setRevokeError(null);
    try {
      await call(oneKey.revoke.$post({ param: { kid: key.kid } }));
      focusAfter.current = heading.current;
      setAsking(null);
    } catch (error) {
      setRevokeError(errorText(error, "Revoking failed."));
    } finally {
      await refresh();
      setBusy(false);
    }
  };

  return (
    <div class="signing-keys">
      <div class="section-head">
        <h2 ref={heading} tabIndex={-1}>
          Keys <span class="count" data-testid="key-count">{keys.length}</span>
        </h2>
        <button type="button" class="primary" disabled={busy} onClick={create}>
          Create standby key
        </button>
      </div>
      {problem && <p class="error-text" role="alert" data-testid="key-problem">{problem}</p>}
      {keys.length === 0
        ? (
          <p class="muted" data-testid="no-keys">
            No signing key: the server makes one current when it starts.
          </p>
        )
        : (
          <div class="table-wrap">
            <table class="cards-on-phone" data-testid="signing-keys">
              <thead>
                <tr>
                  <th scope="col">Key id</th>
                  <th scope="col">Algorithm</th>
                  <th scope="col">State</th>
                  <th scope="col">Created</th>
                  <th scope="col">Activated</th>
                  <th scope="col">Retired</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.map((key) => (
                  <tr key={key.kid} data-kid={key.kid}>
                    <td data-label="Key id" class="mono">{key.kid}</td>
                    <td data-label="Algorithm" class="mono">{key.alg}</td>
                    <td data-label="State">
                      <span class={`pill pill-key-${key.state}`} data-testid="key-state">
                        {key.state}
                      </span>{" "}
                      <span class="muted small">{STATE_HELP[key.state]}</span>
                    </td>
                    <td data-label="Created" class="nowrap">
                      <LocalTime iso={key.created_at} date />
                    </td>
                    <td data-label="Activated" class="nowrap">
                      {key.activated_at
                        ? <LocalTime iso={key.activated_at} date />
                        : key.state === "standby"
                        ? (
                          <span class="muted">
                            may sign from <LocalTime iso={readyAt(key, publishSeconds)} date />
                          </span>
                        )
                        : "—"}
                    </td>
                    <td data-label="Retired" class="nowrap">
                      {key.retired_at ? <LocalTime iso={key.retired_at} date /> : "—"}
                    </td>
                    <td class="actions">
                      {key.state === "standby" && (
                        <button
                          type="button"
                          disabled={busy}
                          onClick={() => activate(key)}
                          aria-label={`Activate the key ${key.kid}`}
                        >
                          Activate
                        </button>
                      )} {(key.state === "standby" || key.state === "previous") && (
                        <button
                          type="button"
                          class="danger"
                          onClick={() => setAsking(key)}
                          aria-label={`Revoke the key ${key.kid}`}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}

      <ConfirmDialog
        asking={asking}
        titleId="revoke-key-title"
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
            <h2 id="revoke-key-title">Revoke the signing key {key.kid}?</h2>
            <p>
              Tokens signed with it stop working at once, on every instance within a second: their
              users must sign in again. It leaves the JWKS. This cannot be undone.
            </p>
          </>
        )}
      </ConfirmDialog>
    </div>
  );
}

/** When a standby key has been published long enough to be activated. */
function readyAt(key: SigningKeyRow, publishSeconds: number): string {
  return new Date(Date.parse(key.created_at) + publishSeconds * 1000).toISOString();
}

/** The server's words; a key not ready yet also says how many seconds are left. */
function errorText(error: unknown, fallback: string): string {
  if (!(error instanceof ApiError)) return fallback;
  return error.retryAfter === null ? error.message : `${error.message} ${error.retryAfter} s left.`;
}
