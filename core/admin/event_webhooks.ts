import { readWebhookTotals } from "../../kv/event_webhooks.ts";
import type { Services } from "../services.ts";

const HOUR_MS = 3_600_000;

/** `GET /api/v1/admin/webhooks`: where events go and how their delivery is going. */
export interface WebhookStatusView {
  /** `EVENT_WEBHOOK_URL` with credentials and query values masked; null when unset. */
  url: string | null;
  /** Events waiting to go out (first tries and retries). */
  pending: number;
  /** Events delivered, and given up after 24 h of retries, in the last 24 hours (by the hour). */
  delivered_24h: number;
  failed_24h: number;
  /** Why the last failed try failed (no secret, no URL). */
  last_error: string | null;
  last_error_at: string | null;
  last_success_at: string | null;
}

/**
 * The outbound webhook's status from a few counters, never a scan of the outbox. The day is
 * counted in whole hours: this hour and the 23 before it.
 */
export async function readWebhookStatus(ctx: Services): Promise<WebhookStatusView> {
  const totals = await readWebhookTotals(ctx.kv, ctx.clock.now() - 23 * HOUR_MS);
  const url = ctx.config.eventWebhook?.url;
  return {
    url: url ? maskUrl(url) : null,
    pending: totals.pending,
    delivered_24h: totals.delivered,
    failed_24h: totals.failed,
    last_error: totals.lastError?.error ?? null,
    last_error_at: iso(totals.lastError?.at),
    last_success_at: iso(totals.lastSuccessAt),
  };
}

/**
 * A URL as admins may see it: user name, password and every query value masked, since
 * receivers often take a token there (`https://***:***@hooks.example.com/in?token=***`).
 */
export function maskUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.username) parsed.username = "***";
  if (parsed.password) parsed.password = "***";
  const query = [...parsed.searchParams.keys()].map((name) => `${encodeURIComponent(name)}=***`);
  parsed.search = query.length > 0 ? `?${query.join("&")}` : "";
  parsed.hash = "";
  return parsed.toString();
}

function iso(at: number | null | undefined): string | null {
  return at === null || at === undefined ? null : new Date(at).toISOString();
}
