import assert from "node:assert/strict";
import { parseHTML } from "linkedom";
import { h as jsx } from "preact";
import { renderToString } from "preact-render-to-string";
import type { z } from "zod";
import { ERROR_STATUS } from "../../core/errors.ts";
import { Layout } from "../../components/Layout.tsx";
import { codeRequestSchema, codeVerifySchema, refreshSchema } from "../../routes/api/v1/auth.ts";
import { type Harness, startHarness } from "../helpers.ts";

/** The /docs page, parsed, with its CSP. */
async function docsPage(h: Harness) {
  const res = await h.get("/docs");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const csp = res.headers.get("content-security-policy") ?? "";
  const { document } = parseHTML(await res.text());
  return { csp, document };
}

Deno.test("docs - /docs is an HTML page under the pages' strict CSP, loading only its own files", async () => {
  await using h = await startHarness();
  const { csp, document } = await docsPage(h);
  const nonce = csp.match(/script-src 'nonce-([^']+)' 'strict-dynamic'/)?.[1];
  assert.ok(nonce, csp);
  assert.match(csp, /(^|; )default-src 'self'(;|$)/);
  assert.match(csp, /(^|; )style-src 'self'(;|$)/);
  assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-(eval|inline)/);

  const scripts = [...document.querySelectorAll("script")];
  assert.equal(scripts.length, 2);
  for (const script of scripts) {
    assert.equal(script.getAttribute("nonce"), nonce);
    assert.equal(script.textContent, "", "no inline script");
  }
  const loaded = [
    ...scripts.map((s) => s.getAttribute("src")),
    ...[...document.querySelectorAll("link[href]")].map((l) => l.getAttribute("href")),
    ...[...document.querySelectorAll("img[src]")].map((i) => i.getAttribute("src")),
  ];
  for (const url of loaded) assert.match(url ?? "", /^\/[^/]/, `${url} is not same-origin`);
  assert.deepEqual(scripts.map((s) => s.getAttribute("src")?.replace(/\/[0-9a-f]{12}\//, "/v/")), [
    "/docs/assets/v/swagger-ui.js",
    "/docs/assets/v/api_reference.js",
  ]);
  assert.equal(
    document.querySelector("#reference")?.getAttribute("data-spec"),
    "/api/v1/openapi.json",
  );
  const links = [...document.querySelectorAll("a")].map((a) => a.getAttribute("href"));
  assert.ok(links.includes("/admin"), "links back to the dashboard");
  assert.ok(links.includes("/api/v1/openapi.json"));
});

Deno.test("docs - the asset route serves Swagger UI and the page's files, typed, gzipped on request, cached for a year", async () => {
  await using h = await startHarness();
  const { document } = await docsPage(h);
  const css = document.querySelector("link[rel=stylesheet]")?.getAttribute("href") ?? "";
  const [bundle, start] = [...document.querySelectorAll("script")].map((s) =>
    s.getAttribute("src") ?? ""
  );
  const expect: [string, RegExp, RegExp][] = [
    [bundle, /^text\/javascript; charset=utf-8$/, /SwaggerUIBundle/],
    [start, /^text\/javascript; charset=utf-8$/, /SwaggerUIBundle\(\{/],
    [css, /^text\/css; charset=utf-8$/, /\.swagger-ui[\s\S]*\.reference-bar/],
  ];
  for (const [url, type, content] of expect) {
    const res = await h.get(url);
    assert.equal(res.status, 200, url);
    assert.match(res.headers.get("content-type") ?? "", type, url);
    assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
    const body = await res.text();
    assert.match(body, content, url);

    const zipped = await h.app.request(url, { headers: { "accept-encoding": "gzip, br" } });
    assert.equal(zipped.status, 200);
    assert.equal(zipped.headers.get("content-encoding"), "gzip");
    assert.equal(zipped.headers.get("vary"), "Accept-Encoding");
    const unzipped = zipped.body!.pipeThrough(new DecompressionStream("gzip"));
    assert.equal(await new Response(unzipped).text(), body, `${url} gzipped`);
  }

  // A page from before an upgrade gets today's file, which no cache keeps under the old name.
  const stale = await h.get(bundle.replace(/\/[0-9a-f]{12}\//, "/000000000000/"));
  assert.equal(stale.status, 200);
  assert.equal(stale.headers.get("cache-control"), "no-cache");
  await stale.body?.cancel();

  for (
    const url of [
      bundle.replace(/swagger-ui\.js$/, "swagger-ui.css"),
      "/docs/assets/x/..%2Fpackage.json",
    ]
  ) {
    const res = await h.get(url);
    assert.equal(res.status, 404, url);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal((await res.json()).error.code, "NOT_FOUND");
  }
});

Deno.test("docs - openapi.json's description carries the error table of ERROR_STATUS", async () => {
  await using h = await startHarness();
  const res = await h.get("/api/v1/openapi.json");
  assert.equal(res.status, 200);
  const description: string = (await res.json()).info.description;
  assert.match(description, /\| status \| code \| when \|/);
  const rows = description.split("\n").filter((line) => /^\| \d{3} \|/.test(line));
  assert.equal(rows.length, Object.keys(ERROR_STATUS).length);
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    const row = rows.find((line) => line.includes(`\`${code}\``));
    assert.ok(row, `${code} is in the table`);
    assert.match(row, new RegExp(`^\\| ${status} \\| \`${code}\` \\| \\S.+ \\|$`));
  }
});

Deno.test("docs - the sign-in endpoints carry request examples their schemas accept", async () => {
  await using h = await startHarness();
  const res = await h.get("/api/v1/openapi.json");
  const { paths } = await res.json();
  const cases: [string, z.ZodType][] = [
    ["/api/v1/auth/otp/request", codeRequestSchema],
    ["/api/v1/auth/otp/verify", codeVerifySchema],
    ["/api/v1/auth/refresh", refreshSchema],
  ];
  for (const [path, schema] of cases) {
    const examples: Record<string, { summary: string; value: unknown }> =
      paths[path].post.requestBody.content["application/json"].examples;
    assert.ok(Object.keys(examples ?? {}).length > 0, `${path} has examples`);
    for (const [name, example] of Object.entries(examples)) {
      assert.ok(example.summary, `${path} ${name} has a summary`);
      const parsed = schema.safeParse(example.value);
      assert.ok(parsed.success, `${path} ${name}: ${JSON.stringify(parsed.error?.issues)}`);
    }
  }
  const request = paths["/api/v1/auth/otp/request"].post.requestBody.content["application/json"];
  assert.deepEqual(request.examples.telegram_deep_link.value, { channel: "telegram" });
});

Deno.test("docs - the dashboard's navigation links to the API reference", () => {
  const html = renderToString(
    jsx(Layout, { path: "/admin", admin: "ops@example.com", title: "Overview", children: null }),
  );
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${html}</body></html>`);
  const nav = [...document.querySelectorAll(".topbar nav a")].map((a) => a.getAttribute("href"));
  assert.ok(nav.includes("/docs"), nav.join(" "));
});
