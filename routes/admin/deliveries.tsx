/** `/admin/deliveries`: every delivery attempt, filtered, and the outbound webhooks below. */
import { Hono } from "hono";
import { listAdminDeliveries } from "../../core/admin/deliveries.ts";
import { readWebhookStatus } from "../../core/admin/event_webhooks.ts";
import type { AppEnv } from "../../web/env.ts";
import { Island } from "../../web/islands.tsx";
import DeliveryLog, { type DeliveryFilters } from "../../islands/DeliveryLog.tsx";
import WebhookStatus from "../../islands/WebhookStatus.tsx";
import { oneOf, pageCursor, readFromCursor } from "../_validation.ts";
import { adminPage } from "./_page.tsx";

const CHANNELS = ["sms", "telegram", "email"] as const;
const STATUSES = ["sent", "delivered", "failed", "refused"] as const;

/** The filters from the query string; anything else is left out. */
function deliveryFiltersOf(query: Record<string, string>): DeliveryFilters {
  const filters: DeliveryFilters = {};
  const channel = oneOf(query.channel, CHANNELS);
  if (channel) filters.channel = channel;
  const status = oneOf(query.status, STATUSES);
  if (status) filters.status = status;
  const cursor = pageCursor(query.cursor);
  if (cursor) filters.cursor = cursor;
  return filters;
}

/** The log as the URL says; a cursor no list gave out starts from the newest. */
export const deliveriesPage = new Hono<AppEnv>()
  .get("/deliveries", async (c) => {
    const filters = deliveryFiltersOf(c.req.query());
    const first = { limit: 50, channel: filters.channel, status: filters.status };
    const { page: initial, cursor } = await readFromCursor(
      (cursor) => listAdminDeliveries(c.get("ctx"), { ...first, cursor }),
      filters.cursor,
    );
    if (!cursor) delete filters.cursor;
    const webhooks = await readWebhookStatus(c.get("ctx"));
    return adminPage(
      c,
      { title: "Deliveries", path: "/admin/deliveries" },
      <>
        <p class="lead muted">
          Every attempt to deliver a code, on every channel and provider, for 7 days. Never the code
          itself. <a href="#webhooks">Outbound webhooks</a> are at the end of the page.
        </p>
        <Island name="DeliveryLog" component={DeliveryLog} props={{ initial, filters }} />
        <Island name="WebhookStatus" component={WebhookStatus} props={{ initial: webhooks }} />
      </>,
    );
  });
