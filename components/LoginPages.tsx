import { Plain } from "./Layout.tsx";

/** Step one: who are you (phone or email). */
export function LoginPage(
  { error, recipient, dev }: { error?: string; recipient?: string; dev?: boolean },
) {
  return (
    <Plain>
      <h1>Admin sign-in</h1>
      <p class="muted">We will send you a one-time code.</p>
      {dev && (
        <p class="muted small">
          <DevWayIn />
        </p>
      )}
      {error && <p class="alert" role="alert">{error}</p>}
      <form method="post" action="/admin/login" class="stack">
        <label for="recipient">Phone number or email</label>
        <input
          id="recipient"
          name="recipient"
          autocomplete="username"
          required
          maxLength={254}
          placeholder="+14155550100 or you@example.com"
          value={recipient}
          autofocus
        />
        <button type="submit" class="primary">Send me a code</button>
      </form>
    </Plain>
  );
}

/** Step two: the code that was sent. */
export function CodePage(
  { requestId, sentTo, channel, error, deepLink }: {
    requestId: string;
    sentTo: string;
    channel: string;
    error?: string;
    deepLink?: string;
  },
) {
  return (
    <Plain>
      <h1>Enter your code</h1>
      <p class="muted">
        We sent a code to <strong>{sentTo}</strong> by {channel === "sms" ? "SMS" : channel}.
      </p>
      {deepLink && (
        <p class="muted">
          Not there? <a href={deepLink}>Open the Telegram bot</a>.
        </p>
      )}
      {error && <p class="alert" role="alert">{error}</p>}
      <form method="post" action="/admin/login/verify" class="stack">
        <input type="hidden" name="request_id" value={requestId} />
        <input type="hidden" name="sent_to" value={sentTo} />
        <input type="hidden" name="channel" value={channel} />
        <label for="code">Code</label>
        <input
          id="code"
          name="code"
          inputMode="numeric"
          autocomplete="one-time-code"
          pattern="[0-9 \-]*"
          maxLength={16}
          required
          autofocus
          class="code-input"
        />
        <button type="submit" class="primary">Sign in</button>
      </form>
      <p class="muted small">
        <a href="/admin/login">Use another phone or email</a>
      </p>
    </Plain>
  );
}

/** A signed-in person without the admin role. */
export function NotAdminPage({ dev }: { dev?: boolean }) {
  return (
    <Plain>
      <h1>Admins only</h1>
      <p>
        This account is not an admin.{" "}
        {dev ? <DevWayIn /> : "Ask an admin to give you the admin role."}
      </p>
      <p>
        <a href="/admin/login">Sign in with another account</a>
      </p>
    </Plain>
  );
}

/** Development only: how to get in with no admin yet, where production says "ask an admin". */
function DevWayIn() {
  return (
    <span data-testid="dev-way-in">
      Development: no admin yet? Restart the server with <code>ADMIN_EMAILS=you@example.com</code>
      {" (or "}
      <code>ADMIN_PHONES</code>) and sign in with that address (its code is printed in the server's
      log), or open the one-time admin link the server printed when it started.
    </span>
  );
}
