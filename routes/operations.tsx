import { Hono } from "hono";
import { readAdminStats } from "../core/admin/stats.ts";
import type { AppEnv } from "../core/web/env.ts";
import { renderPage } from "../core/web/render.tsx";
import { pageSecurity } from "../core/web/security.ts";
import { openApiDocument } from "./openapi.ts";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

function bodySchema(requestBody: unknown): unknown {
  return (requestBody as { content: { "application/json": { schema: unknown } } }).content[
    "application/json"
  ].schema;
}

/** `/metrics`, `/api/v1/openapi.json` and `/docs`. */
export const operationsRoutes = new Hono<AppEnv>()
  .get("/metrics", async (c) => {
    const ctx = c.var.ctx;
    const stats = await readAdminStats(ctx);
    const batcher = ctx.presence.batcher.stats;
    const text = ctx.metrics.render([
      { name: "doorman_users", help: "Users ever created.", values: [[{}, stats.users.total]] },
      {
        name: "doorman_users_online",
        help: "Users recorded online (moved by transitions).",
        values: [[{}, stats.users.online]],
      },
      {
        name: "doorman_otp_last_hour",
        help: "Code events in the last 60 minutes, all instances.",
        values: Object.entries(stats.otp).map(([kind, n]) => [{ kind }, n]),
      },
      {
        name: "doorman_channel_up",
        help: "1 when the channel is configured and its last delivery worked.",
        values: Object.entries(stats.channels).map(([channel, h]) => [
          { channel, provider: h.provider },
          h.configured && h.ok ? 1 : 0,
        ]),
      },
      {
        name: "doorman_websockets",
        help: "Presence sockets open on this instance.",
        values: [[{}, ctx.presence.hub.size]],
      },
      {
        name: "doorman_activity_commits",
        help: "KV commits that carried heartbeats on this instance.",
        values: [[{}, batcher.commits]],
      },
      {
        name: "doorman_activity_writes",
        help: "Heartbeats and socket activity recorded on this instance.",
        values: [[{}, batcher.writes]],
      },
    ]);
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
    return renderPage(
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
