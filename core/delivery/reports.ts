import {
  type Delivery,
  type DeliveryStatus,
  findDeliveryId,
  updateDelivery,
} from "../../kv/deliveries.ts";
import type { Services } from "../services.ts";

/**
 * Delivery reports from providers (Telegram Gateway callbacks, Twilio status callbacks) move
 * a logged attempt on: `sent` → `delivered`, or `sent` → `failed` when the provider gave up.
 * A report never moves an attempt back (reports arrive out of order and more than once), and
 * one for an attempt Doorman does not know changes nothing.
 */

/** What a provider reported, in the delivery log's terms. */
export interface DeliveryReport {
  /** The provider as the log names it (`twilio`, `telegram_gateway`). */
  provider: string;
  providerId: string;
  /** `delivered`, `failed`, or null for a report that changes nothing (queued, sent, read…). */
  status: Extract<DeliveryStatus, "delivered" | "failed"> | null;
  /** Why it failed, safe to show (a provider error code). */
  error?: string;
}

/** Applies a report; returns the attempt as it is now, or null when nothing changed. */
export async function applyDeliveryReport(
  ctx: Services,
  report: DeliveryReport,
): Promise<Delivery | null> {
  if (!report.status) return null;
  const id = await findDeliveryId(ctx.kv, report.provider, report.providerId);
  if (!id) return null;
  const now = () => ctx.clock.now();
  const updated = await updateDelivery(ctx.kv, id, now, (delivery) => {
    // Only a sent message can turn out delivered or failed; a delivered one stays delivered.
    if (delivery.status !== "sent") return null;
    return {
      ...delivery,
      status: report.status!,
      error: report.status === "failed" ? report.error ?? "reported undelivered" : null,
      updatedAt: now(),
    };
  });
  if (updated) {
    ctx.log.info("delivery report", {
      delivery_id: updated.id,
      provider: report.provider,
      status: updated.status,
    });
  }
  return updated;
}

/** A Twilio message status in the log's terms. */
export function twilioReportStatus(status: string): DeliveryReport["status"] {
  switch (status) {
    case "delivered":
    case "read":
      return "delivered";
    case "undelivered":
    case "failed":
    case "canceled":
      return "failed";
    default:
      return null;
  }
}

/**
 * A Telegram Gateway delivery status in the log's terms: `read` is past delivered; `expired`
 * means it was not delivered within its lifetime (a message delivered first stays delivered).
 */
export function gatewayReportStatus(status: string): DeliveryReport["status"] {
  switch (status) {
    case "delivered":
    case "read":
      return "delivered";
    case "expired":
      return "failed";
    default:
      return null;
  }
}
