import { Hono } from "hono";
import type { AppContext } from "./core/context.ts";
import { adminPages } from "./routes/admin/mod.ts";
import { adminRoutes } from "./routes/api/v1/admin.ts";
import { authRoutes } from "./routes/api/v1/auth.ts";
import { meRoutes } from "./routes/api/v1/me.ts";
import { meContactRoutes } from "./routes/api/v1/me_contacts.ts";
import { mePrivacyRoutes } from "./routes/api/v1/me_privacy.ts";
import { presenceRoutes } from "./routes/api/v1/presence.ts";
import { presenceSocketRoutes } from "./routes/api/v1/presence_ws.ts";
import { sessionRoutes } from "./routes/api/v1/sessions.ts";
import { healthRoutes, livenessRoutes } from "./routes/health.ts";
import { wellKnownRoutes } from "./routes/well_known.ts";
import { operationsRoutes } from "./routes/operations.tsx";
import { staticRoutes } from "./routes/static.ts";
import { gatewayReportRoutes } from "./routes/telegram/gateway.ts";
import { telegramRoutes } from "./routes/telegram/bot_updates.ts";
import { twilioRoutes } from "./routes/twilio.ts";
import type { WebAssets } from "./web/assets.ts";
import type { AppEnv } from "./web/env.ts";
import { answerError, answerNotFound } from "./web/errors.ts";
import { requestFrame } from "./web/middleware.ts";

/** Builds the HTTP app over a context: the only place routes are composed. */
export function createApp(ctx: AppContext, options: { assets: WebAssets }): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .use(requestFrame(ctx, { assets: options.assets, corsOrigins: ctx.config.corsOrigins }))
    .route("/health", livenessRoutes)
    .route("/.well-known", wellKnownRoutes)
    .route("/api/v1/health", healthRoutes)
    .route("/api/v1/auth", authRoutes)
    .route("/api/v1/me", meRoutes)
    .route("/api/v1/me", meContactRoutes)
    .route("/api/v1/me", mePrivacyRoutes)
    .route("/api/v1/sessions", sessionRoutes)
    .route("/api/v1/admin", adminRoutes)
    .route("/telegram/gateway", gatewayReportRoutes)
    .route("/telegram", telegramRoutes)
    .route("/twilio", twilioRoutes)
    .route("/admin", adminPages)
    .route("/static", staticRoutes)
    .route("/", operationsRoutes)
    .route("/api/v1/presence/ws", presenceSocketRoutes)
    .route("/api/v1/presence", presenceRoutes)
    .notFound(answerNotFound)
    .onError(answerError);
}
