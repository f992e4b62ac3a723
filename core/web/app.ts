import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { adminPages } from "../../routes/admin/pages.tsx";
import { adminRoutes } from "../../routes/api/v1/admin.ts";
import { authRoutes } from "../../routes/api/v1/auth.ts";
import { meRoutes } from "../../routes/api/v1/me.ts";
import { presenceRoutes } from "../../routes/api/v1/presence.ts";
import { presenceSocketRoutes } from "../../routes/api/v1/presence_ws.ts";
import { healthRoutes, livenessRoutes } from "../../routes/health.ts";
import { operationsRoutes } from "../../routes/operations.tsx";
import { staticRoutes } from "../../routes/static.ts";
import { telegramRoutes } from "../../routes/telegram/webhook.ts";
import type { AppContext } from "../context.ts";
import { AppError } from "../errors.ts";
import type { AppEnv } from "./env.ts";
import { clientIp } from "./middleware.ts";

/** Builds the HTTP app over a context: the only place routes are composed. */
export function createApp(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId({ limitLength: 64 }), async (c, next) => {
    c.set("ctx", ctx);
    const started = performance.now();
    await next();
    ctx.metrics.inc("doorman_http_requests_total", "HTTP requests answered by this instance.", {
      method: c.req.method,
      status: String(c.res.status),
    });
    // The path only: query strings may carry things that do not belong in logs.
    ctx.log.info("request", {
      request_id: c.var.requestId,
      method: c.req.method,
      path: c.req.path.slice(0, 200),
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  });
  app.use(async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    if (c.req.path.startsWith("/api/")) c.header("Cache-Control", "no-store");
  });
  app.use(
    "/api/*",
    cors({
      origin: (origin) => ctx.config.corsOrigins.includes(origin) ? origin : null,
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
      allowHeaders: ["Authorization", "Content-Type"],
      exposeHeaders: ["Retry-After", "X-Request-Id"],
      maxAge: 600,
    }),
  );
  app.use(clientIp);

  app.route("/health", livenessRoutes);
  app.route("/api/v1/health", healthRoutes);
  app.route("/api/v1/auth", authRoutes);
  app.route("/api/v1/me", meRoutes);
  app.route("/api/v1/admin", adminRoutes);
  app.route("/telegram", telegramRoutes);
  app.route("/admin", adminPages);
  app.route("/static", staticRoutes);
  app.route("/", operationsRoutes);
  app.route("/api/v1/presence/ws", presenceSocketRoutes);
  app.route("/api/v1/presence", presenceRoutes);

  app.notFound((c) => {
    const error = new AppError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`);
    return c.json(error.toBody(), 404);
  });

  app.onError((error, c) => {
    const appError = toAppError(error);
    if (appError.code === "INTERNAL") {
      ctx.log.error("unhandled error", {
        request_id: c.var.requestId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    if (appError.code === "RATE_LIMITED") {
      c.header("Retry-After", String(appError.extra.retry_after));
    }
    return c.json(appError.toBody(), appError.status as 400);
  });

  return app;
}

/** Maps anything thrown to the API.md table; unknown errors become a bare `INTERNAL`. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof HTTPException) {
    // Hono's own: the JSON validator's parse failure, mostly.
    if (error.status === 413) return new AppError("PAYLOAD_TOO_LARGE", "The body is too large.");
    if (error.status === 400) {
      return new AppError("VALIDATION_FAILED", "The request body is not valid JSON.", {
        details: [{ path: "(body)", message: "malformed JSON" }],
      });
    }
  }
  return new AppError("INTERNAL", "Something went wrong on our side. It has been logged.");
}
