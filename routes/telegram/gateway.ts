import { Hono } from "hono";
import { applyDeliveryReport, gatewayReportStatus } from "../../core/delivery/reports.ts";
import { parseGatewayReport } from "../../core/delivery/telegram_gateway_report.ts";
import { AppError } from "../../core/errors.ts";
import type { AppEnv } from "../../web/env.ts";
import { limitBody } from "../../web/middleware.ts";

/**
 * `POST /telegram/gateway/report`: delivery reports of the Telegram Gateway, signed with the
 * API token (anything else is 403). Every genuine report is answered 200, known or not, so the
 * Gateway does not send it again.
 */
export const gatewayReportRoutes = new Hono<AppEnv>()
  .post("/report", limitBody, async (c) => {
    const { ctx } = c.var;
    if (!ctx.gateway) throw new AppError("NOT_FOUND", "The Telegram Gateway is not configured.");
    const body = new Uint8Array(await c.req.arrayBuffer());
    const nowSeconds = Math.floor(ctx.clock.now() / 1000);
    if (!ctx.gateway.verifyReport(c.req.raw.headers, body, nowSeconds)) {
      throw new AppError("FORBIDDEN", "The report signature is missing, wrong or too old.");
    }
    const report = parseGatewayReport(body);
    if (!report) throw new AppError("VALIDATION_FAILED", "The body is not a Gateway report.");
    await applyDeliveryReport(ctx, {
      provider: "telegram_gateway",
      providerId: report.requestId,
      status: gatewayReportStatus(report.status),
    });
    return c.json({ ok: true }, 200);
  });
