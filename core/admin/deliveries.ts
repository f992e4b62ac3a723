import { type Delivery, type DeliveryStatus, listDeliveries } from "../../kv/deliveries.ts";
import type { ChannelName } from "../../kv/otp_requests.ts";
import type { Services } from "../services.ts";

/** A delivery attempt as the admin API shows it. */
export interface DeliveryView {
  id: string;
  at: string;
  request_id: string | null;
  channel: ChannelName;
  provider: string;
  to: string;
  country: string | null;
  status: DeliveryStatus;
  provider_id: string | null;
  latency_ms: number | null;
  error: string | null;
  updated_at: string | null;
  test?: true;
}

/** `GET /api/v1/admin/deliveries`: attempts newest first, by channel and status. */
export async function listAdminDeliveries(
  ctx: Services,
  query: { limit: number; cursor?: string; channel?: ChannelName; status?: DeliveryStatus },
): Promise<{ deliveries: DeliveryView[]; cursor: string | null }> {
  const page = await listDeliveries(ctx.kv, query);
  return { deliveries: page.deliveries.map(deliveryView), cursor: page.cursor };
}

function deliveryView(d: Delivery): DeliveryView {
  const view: DeliveryView = {
    id: d.id,
    at: new Date(d.at).toISOString(),
    request_id: d.requestId,
    channel: d.channel,
    provider: d.provider,
    to: d.to,
    country: d.country,
    status: d.status,
    provider_id: d.providerId,
    latency_ms: d.latencyMs,
    error: d.error,
    updated_at: d.updatedAt === null ? null : new Date(d.updatedAt).toISOString(),
  };
  if (d.test) view.test = true;
  return view;
}
