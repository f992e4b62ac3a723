import { Hono } from "hono";
import { metricsText } from "../core/operations.ts";
import type { AppEnv } from "../web/env.ts";
import { page } from "./_app.tsx";
import { metricsAccess, pageSecurity } from "../web/security.ts";
import { openApiDocument } from "./openapi.ts";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

function bodySchema(requestBody: unknown): unknown {
  return (requestBody as { content: { "application/json": { schema: unknown } } }).content[
    "application/json"
  ].schema;
}

/** `/metrics`, `/api/v1/openapi.json` and `/docs`. */
export const operationsRoutes = new Hono<AppEnv>()
  .get("/metrics", metricsAccess, async (c) => {
    const text = await metricsText(c.var.ctx);
    return c.text(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  })
  .get("/api/v1/openapi.json", (c) => c.json(openApiDocument(c.var.ctx.config.publicUrl)))
  .get("/docs", pageSecurity, (c) => {
    const doc = openApiDocument(c.var.ctx.config.publicUrl) as {
      paths: Record<
        string,
        Record<
          string,
          {
            summary: string;
            requestBody?: unknown;
            parameters?: unknown;
            responses: Record<string, { description: string }>;
          }
        >
      >;
    };
    return page(
      c,
      <main class="docs">
        <h1>Doorman API</h1>
        <p class="muted">
          Generated from the schemas that validate requests:{" "}
          <a href="/api/v1/openapi.json">openapi.json</a> (OpenAPI 3.1).
        </p>
        {Object.entries(doc.paths).flatMap(([path, operations]) =>
          METHODS.filter((method) => operations[method]).map((method) => {
            const op = operations[method];
            return (
              <section class="panel op" id={`${method}-${path}`}>
                <h2>
                  <span class={`method method-${method}`}>{method.toUpperCase()}</span>{" "}
                  <code>{path}</code>
                </h2>
                <p>{op.summary}</p>
                {op.parameters
                  ? (
                    <>
                      <h3 class="small">Parameters</h3>
                      <pre>{JSON.stringify(op.parameters, null, 2)}</pre>
                    </>
                  )
                  : null}
                {op.requestBody
                  ? (
                    <>
                      <h3 class="small">JSON body</h3>
                      <pre>{JSON.stringify(bodySchema(op.requestBody), null, 2)}</pre>
                    </>
                  )
                  : null}
                <ul class="responses">
                  {Object.entries(op.responses).map(([status, response]) => (
                    <li>
                      <code>{status}</code> {response.description}
                    </li>
                  ))}
                </ul>
              </section>
            );
          })
        )}
      </main>,
      { title: "API" },
    );
  });
