import { Hono } from "hono";
import { AppError } from "../core/errors.ts";
import { referenceAssets } from "../web/api_reference.ts";
import type { AppEnv } from "../web/env.ts";
import { renderPage } from "../web/render.tsx";
import { pageSecurity } from "../web/security.ts";
import App from "./_app.tsx";

const SPEC_URL = "/api/v1/openapi.json";

/**
 * `/docs`: the interactive API reference (Swagger UI over `/api/v1/openapi.json`), under the
 * same strict CSP as every page, and `/docs/assets/<version>/<file>`, the files it loads.
 */
export const docsRoutes = new Hono<AppEnv>()
  .get("/", pageSecurity, async (c) => {
    const { version } = await referenceAssets(c.get("assets").staticDir);
    const asset = (name: string) => `/docs/assets/${version}/${name}`;
    const nonce = c.get("nonce");
    return renderPage(
      c,
      <>
        <header class="reference-bar">
          <a class="reference-brand" href="/admin">
            <img src="/static/favicon.svg" alt="" width={22} height={22} />
            Doorman
          </a>
          <span class="reference-title">API reference</span>
          <nav aria-label="Links">
            <a href="/admin">Dashboard</a>
            <a href={SPEC_URL}>openapi.json</a>
          </nav>
        </header>
        <noscript>
          <p class="reference-note">
            This reference needs JavaScript; the API is described in{" "}
            <a href={SPEC_URL}>openapi.json</a> (OpenAPI 3.1).
          </p>
        </noscript>
        <main id="reference" data-spec={SPEC_URL}></main>
      </>,
      {
        shell: ({ body }) => (
          <App
            title="API reference"
            body={body}
            cssUrl={asset("api_reference.css")}
            scripts={
              <>
                <script nonce={nonce} src={asset("swagger-ui.js")} />
                <script nonce={nonce} src={asset("api_reference.js")} />
              </>
            }
          />
        ),
      },
    );
  })
  .get("/assets/:version/:file", async (c) => {
    const { version, files } = await referenceAssets(c.get("assets").staticDir);
    const file = files.get(c.req.param("file"));
    if (!file) throw new AppError("NOT_FOUND", "No such file.");
    c.header("Content-Type", file.contentType);
    // A page rendered before an upgrade may ask for the old version: it gets today's files,
    // which no cache may keep under the old name.
    c.header(
      "Cache-Control",
      c.req.param("version") === version ? "public, max-age=31536000, immutable" : "no-cache",
    );
    c.header("Vary", "Accept-Encoding");
    if (/\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) {
      c.header("Content-Encoding", "gzip");
      return c.body(file.gzipped);
    }
    return c.body(file.body);
  });
