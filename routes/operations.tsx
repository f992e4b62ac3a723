import { Hono } from "hono";
import { metricsText } from "../core/operations.ts";
import type { AppEnv } from "../web/env.ts";
import { metricsAccess } from "../web/security.ts";
import { docsRoutes } from "./docs.tsx";
import { openApiDocument } from "./openapi.ts";

/** `/metrics`, `/api/v1/openapi.json` and the API reference at `/docs`. */
export const operationsRoutes = new Hono<AppEnv>()
  .get("/metrics", metricsAccess, async (c) => {
    const text = await metricsText(c.get("ctx"));
    return c.text(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  })
  .get("/api/v1/openapi.json", (c) => c.json(openApiDocument(c.get("ctx").config.publicUrl)))
  .route("/docs", docsRoutes);
