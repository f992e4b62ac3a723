import type { InferResponseType } from "hono/client";
import { useEffect, useState } from "preact/hooks";
import { api, call } from "../components/lib/api.ts";
import { subscribe } from "../components/lib/live.ts";
import { LocalTime } from "../components/LocalTime.tsx";

/** `GET /api/v1/admin/webhooks`. */
export type WebhookStatusView = InferResponseType<typeof api.webhooks.$get, 200>;

/** A burst of events refreshes the numbers once, this long after its first event. */
const REFRESH_MS = 2_000;

/**
 * The outbound event webhook, read-only: where events go, how many wait, how many went out or
 * were given up in the last day, and the last success and error. Events move the numbers, so
 * each burst of them refreshes the panel once.
 */
export default function WebhookStatus({ initial }: { initial: WebhookStatusView }) {
  const [status, setStatus] = useState(initial);

  useEffect(() => {
    if (initial.url === null) return;
    let pending: ReturnType<typeof setTimeout> | undefined;
    const refresh = () => call(api.webhooks.$get()).then(setStatus).catch(() => {});
    const unsubscribe = subscribe(() => {
      pending ??= setTimeout(() => {
        pending = undefined;
        refresh();
      }, REFRESH_MS);
    }, refresh);
    return () => {
      unsubscribe();
      clearTimeout(pending);
    };
  }, []);

  return (
    <section
      id="webhooks"
      class="webhooks"
      aria-labelledby="webhooks-title"
      data-testid="webhooks"
    >
      <div class="section-head">
        <h2 id="webhooks-title">Outbound webhooks</h2>
      </div>
      {status.url === null
        ? (
          <p class="muted webhooks-off">
            Off. Set <span class="mono">EVENT_WEBHOOK_URL</span> (and{" "}
            <span class="mono">EVENT_WEBHOOK_SECRET</span>) to POST every event to a service of
            yours.
          </p>
        )
        : <Configured status={status} url={status.url} />}
    </section>
  );
}

function Configured({ status, url }: { status: WebhookStatusView; url: string }) {
  // ISO times of one format compare as strings.
  const recovered = status.last_error_at !== null && status.last_success_at !== null &&
    status.last_success_at > status.last_error_at;
  return (
    <>
      <p class="webhook-target">
        Events go to <span class="mono" data-testid="webhook-url">{url}</span>
      </p>
      <div class="tiles webhook-tiles">
        <div class="tile">
          <div class="tile-label">Pending</div>
          <div class="tile-value" data-testid="webhook-pending">{status.pending}</div>
          <div class="tile-hint">waiting to go out or for a retry</div>
        </div>
        <div class="tile">
          <div class="tile-label">Delivered, 24 h</div>
          <div class="tile-value" data-testid="webhook-delivered">{status.delivered_24h}</div>
          <div class="tile-hint">answered with a 2xx</div>
        </div>
        <div class={status.failed_24h > 0 ? "tile webhook-failed" : "tile"}>
          <div class="tile-label">Failed, 24 h</div>
          <div class="tile-value">{status.failed_24h}</div>
          <div class="tile-hint">given up after 24 h of retries</div>
        </div>
        <div class="tile">
          <div class="tile-label">Last success</div>
          <div class="tile-value webhook-time">
            {status.last_success_at ? <LocalTime iso={status.last_success_at} date /> : "never"}
          </div>
        </div>
      </div>
      {status.last_error && (
        <p
          class={recovered ? "webhook-error webhook-error-past" : "webhook-error"}
          data-testid="webhook-error"
        >
          <strong>Last failed try</strong>
          {status.last_error_at && (
            <>
              {" "}
              <LocalTime iso={status.last_error_at} date />
            </>
          )}: {status.last_error}
          {recovered && <span class="muted">. Deliveries went through since.</span>}
        </p>
      )}
    </>
  );
}
