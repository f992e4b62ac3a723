import { Hono } from "hono";
import { twilioStatusUrl } from "../core/context.ts";
import { applyDeliveryReport, twilioReportStatus } from "../core/delivery/reports.ts";
import {
  parseTwilioStatus,
  TWILIO_SIGNATURE_HEADER,
  verifyTwilioSignature,
} from "../core/delivery/twilio_signature.ts";
import { AppError } from "../core/errors.ts";
import type { AppEnv } from "../web/env.ts";
import { limitBody } from "../web/middleware.ts";

/**
 * `POST /twilio/status`: Twilio's message status callbacks, signed with the account's auth
 * token over the URL Doorman gave it (not the URL this request arrived at, which a proxy may
 * have changed). Anything unsigned is 403.
 */
export const twilioRoutes = new Hono<AppEnv>()
  .post("/status", limitBody, async (c) => {
    const { ctx } = c.var;
    const sms = ctx.config.sms;
    if (sms.provider !== "twilio") throw new AppError("NOT_FOUND", "Twilio is not configured.");
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
      throw new AppError("UNSUPPORTED_MEDIA_TYPE", "Twilio posts form-encoded bodies.");
    }
    const params = new URLSearchParams(await c.req.text());
    const signed = verifyTwilioSignature(sms.authToken, {
      url: twilioStatusUrl(ctx.config),
      params,
      header: c.req.header(TWILIO_SIGNATURE_HEADER),
    });
    if (!signed) throw new AppError("FORBIDDEN", "The Twilio signature is missing or wrong.");
    const status = parseTwilioStatus(params);
    if (!status) throw new AppError("VALIDATION_FAILED", "The body is not a message status.");
    await applyDeliveryReport(ctx, {
      provider: "twilio",
      providerId: status.messageSid,
      status: twilioReportStatus(status.status),
      error: status.errorCode ? `twilio error ${status.errorCode}` : undefined,
    });
    return c.body(null, 204);
  });
