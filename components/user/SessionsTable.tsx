import { ago } from "../lib/live.ts";
import { deviceOf } from "../lib/user_agent.ts";
import { LocalTime, TimeZoneNote } from "../LocalTime.tsx";
import type { TokenPair } from "./api.ts";

/** Every active sign-in: device, IP, when it began and was last used, and "End". */
export function SessionsTable(
  { sessions, onEnd }: { sessions: TokenPair[]; onEnd: (s: TokenPair) => void },
) {
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
