import { Hono } from "hono";
import type { Update } from "grammy/types";
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { AppError } from "../../core/errors.ts";
import type { AppEnv } from "../../web/env.ts";
import { jsonBody } from "../../web/middleware.ts";

/** Bot API updates: an object with an integer `update_id`; the rest is grammY's to read. */
const updateSchema = z.looseObject({ update_id: z.number().int().min(0) });

/** Whether the header carries the secret, compared in constant time. */
async function secretMatches(header: string | undefined, secret: string): Promise<boolean> {
  if (header === undefined) return false;
  const digest = async (text: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return timingSafeEqual(await digest(header), await digest(secret));
}

/** `POST /telegram/webhook`: updates from Telegram, answered at once, processed in the background. */
export const telegramRoutes = new Hono<AppEnv>()
  .post(
    "/webhook",
    async (c, next) => {
      const { ctx } = c.var;
      if (!ctx.telegram) throw new AppError("NOT_FOUND", "Telegram is not configured.");
      const secret = ctx.config.telegram.webhookSecret;
      const header = c.req.header("x-telegram-bot-api-secret-token");
      if (!secret || !(await secretMatches(header, secret))) {
        throw new AppError("FORBIDDEN", "The webhook secret token is missing or wrong.");
      }
      await next();
    },
    // Updates can carry long messages: more room than the API's 16 KiB, still bounded.
    ...jsonBody(updateSchema, { maxBytes: 256 * 1024 }),
    (c) => {
      c.get("ctx").telegram!.process(c.req.valid("json") as unknown as Update);
      return c.json({ ok: true }, 200);
    },
  );
