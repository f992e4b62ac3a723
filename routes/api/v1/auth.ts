import { Hono } from "hono";
import { z } from "zod";
import { requestCode } from "../../../core/auth/otp.ts";
import { verifyCode } from "../../../core/auth/verify.ts";
import { normalizeEmail, normalizePhone, type Recipient } from "../../../core/auth/recipients.ts";
import { refreshSession } from "../../../core/auth/refresh.ts";
import { logout } from "../../../core/auth/sessions.ts";
import { pickLocale } from "../../../core/delivery/locale.ts";
import type { AppEnv } from "../../../web/env.ts";
import {
  jsonBody,
  limitBody,
  optionalJsonBody,
  requireApiKey,
  requireUser,
} from "../../../web/middleware.ts";
import { introspect } from "../../../core/auth/introspect.ts";

/** `POST /otp/request`: exactly one recipient, or none for Telegram deep-link sign-in. */
export const codeRequestSchema = z.object({
  phone: z.string().max(64).optional(),
  email: z.string().max(320).optional(),
  channel: z.enum(["auto", "sms", "telegram", "email"]).optional(),
  // A BCP 47 tag (`de`, `pt-BR`); a well-formed tag Doorman has no texts for falls back.
  locale: z.string().max(35).regex(
    /^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$/,
    "must be a language tag like en, de or pt-BR",
  ).optional(),
}).strict().transform((body, ctx) => {
  if (body.phone !== undefined && body.email !== undefined) {
    ctx.addIssue({ code: "custom", path: ["email"], message: "send either phone or email" });
    return z.NEVER;
  }
  let recipient: Recipient | null = null;
  if (body.phone !== undefined) {
    const phone = normalizePhone(body.phone);
    if (!phone) {
      ctx.addIssue({
        code: "custom",
        path: ["phone"],
        message: "must be a phone number with its country code, like +14155550100",
      });
      return z.NEVER;
    }
    if (body.channel === "email") {
      ctx.addIssue({ code: "custom", path: ["channel"], message: "email needs an email" });
      return z.NEVER;
    }
    recipient = { kind: "phone", value: phone };
  } else if (body.email !== undefined) {
    const email = normalizeEmail(body.email);
    if (!email) {
      ctx.addIssue({ code: "custom", path: ["email"], message: "must be an email address" });
      return z.NEVER;
    }
    if (body.channel !== undefined && body.channel !== "email") {
      ctx.addIssue({ code: "custom", path: ["channel"], message: "an email goes by email" });
      return z.NEVER;
    }
    recipient = { kind: "email", value: email };
  } else if (body.channel !== "telegram") {
    ctx.addIssue({
      code: "custom",
      path: ["phone"],
      message: 'send phone or email (only channel "telegram" may omit both)',
    });
    return z.NEVER;
  }
  const channel = body.channel ?? (recipient?.kind === "email" ? "email" : "auto");
  return { recipient, channel, locale: body.locale };
});

/** `POST /otp/verify`. Spaces and dashes inside the code are ignored. */
export const codeVerifySchema = z.object({
  request_id: z.string().min(1).max(64),
  code: z.string().max(32).transform((s) => s.replace(/[\s-]/g, "")).pipe(
    z.string().regex(/^\d{4,10}$/, "must be the 4 to 10 digits of the code"),
  ),
}).strict();

/** `POST /refresh`. */
export const refreshSchema = z.object({ refresh_token: z.string().min(1).max(512) }).strict();

/** `POST /logout`: the body is optional. */
export const logoutSchema = z.object({ refresh_token: z.string().min(1).max(512).optional() })
  .strict();

/** `POST /introspect` body: the access token to judge. */
export const introspectSchema = z.object({ token: z.string().max(8192) }).strict();

/** Sign-in with one-time codes, refresh, introspection and logout: `/api/v1/auth/*`. */
export const authRoutes = new Hono<AppEnv>()
  .post("/otp/request", ...jsonBody(codeRequestSchema), async (c) => {
    const { recipient, channel, locale } = c.req.valid("json");
    const answer = await requestCode(c.get("ctx"), {
      recipient,
      channel,
      ip: c.get("ip"),
      locale: pickLocale(locale, c.req.header("accept-language") ?? null),
    });
    return c.json(answer, 202);
  })
  .post("/otp/verify", ...jsonBody(codeVerifySchema), async (c) => {
    const body = c.req.valid("json");
    const signIn = await verifyCode(c.get("ctx"), {
      requestId: body.request_id,
      code: body.code,
      ip: c.get("ip"),
      userAgent: c.req.header("user-agent") ?? null,
    });
    return c.json(signIn, 200);
  })
  .post("/refresh", ...jsonBody(refreshSchema), async (c) => {
    return c.json(await refreshSession(c.get("ctx"), c.req.valid("json").refresh_token), 200);
  })
  .post("/introspect", requireApiKey, ...jsonBody(introspectSchema), async (c) => {
    return c.json(await introspect(c.get("ctx"), c.req.valid("json").token), 200);
  })
  .post("/logout", requireUser, limitBody, async (c) => {
    const body = await optionalJsonBody(c, logoutSchema);
    await logout(c.get("ctx"), c.get("caller"), body.refresh_token);
    return c.body(null, 204);
  });
