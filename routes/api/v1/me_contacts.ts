import { Hono } from "hono";
import { z } from "zod";
import { removeContact } from "../../../core/account/contact_remove.ts";
import { requestContactCode, verifyContactCode } from "../../../core/account/contacts.ts";
import { startTelegramLink } from "../../../core/account/telegram_link.ts";
import { pickLocale } from "../../../core/delivery/locale.ts";
import { publicUser } from "../../../core/users.ts";
import type { AppEnv } from "../../../web/env.ts";
import { jsonBody, limitBody, optionalJsonBody, requireUser } from "../../../web/middleware.ts";
import { codeRequestSchema, codeVerifySchema } from "./auth.ts";

/**
 * `POST /me/contact/request`: a phone (`channel` as for sign-in) or an email, exactly one; the
 * sign-in request's shape, without its deep-link-only form.
 */
export const contactRequestSchema = codeRequestSchema.refine((body) => body.recipient !== null, {
  path: ["phone"],
  message: "send phone or email",
});

/** `POST /me/contact/verify`: the request and its code, as a sign-in verify. */
export const contactVerifySchema = codeVerifySchema;

/** `POST /me/telegram/link`: the body may be left out; only `locale` may be sent. */
export const telegramLinkSchema = z.object({
  locale: z.string().max(35).regex(/^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$/).optional(),
}).strict();

/** The caller's contacts: add or change one with a code, link Telegram, remove one. */
export const meContactRoutes = new Hono<AppEnv>()
  .post("/contact/request", requireUser, ...jsonBody(contactRequestSchema), async (c) => {
    const { recipient, channel, locale } = c.req.valid("json");
    const answer = await requestContactCode(c.get("ctx"), c.get("caller").user, {
      recipient: recipient!,
      channel,
      ip: c.get("ip"),
      locale: pickLocale(locale, c.req.header("accept-language") ?? null),
    });
    return c.json(answer, 202);
  })
  .post("/contact/verify", requireUser, ...jsonBody(contactVerifySchema), async (c) => {
    const body = c.req.valid("json");
    const user = await verifyContactCode(c.get("ctx"), c.get("caller").user.id, {
      requestId: body.request_id,
      code: body.code,
      ip: c.get("ip"),
    });
    return c.json({ user: publicUser(user) }, 200);
  })
  .post("/telegram/link", requireUser, limitBody, async (c) => {
    const body = await optionalJsonBody(c, telegramLinkSchema);
    const answer = await startTelegramLink(c.get("ctx"), c.get("caller").user.id, {
      ip: c.get("ip"),
      locale: pickLocale(body.locale, c.req.header("accept-language") ?? null),
    });
    return c.json(answer, 200);
  })
  .delete("/contact/:kind{phone|email|telegram}", requireUser, async (c) => {
    const kind = c.req.param("kind") as "phone" | "email" | "telegram";
    await removeContact(c.get("ctx"), c.get("caller").user.id, kind);
    return c.body(null, 204);
  });
