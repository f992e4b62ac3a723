import type { Context } from "hono";
import type { VNode } from "preact";
import App from "../../routes/_app.tsx";
import type { AppEnv } from "./env.ts";
import { renderDocument } from "./islands.tsx";

/** Where the browser finds the built bundle and the stylesheet (both content-hashed). */
export interface WebAssets {
  /** `/static/build/islands.<hash>.js`, or null when no bundle was built. */
  bundleUrl: string | null;
  cssUrl: string;
}

/** Answers with a full HTML page (islands hydrate; a page without any ships no script). */
export function renderPage(
  c: Context<AppEnv>,
  page: VNode,
  options: { title: string; status?: number },
): Response {
  const assets = c.var.ctx.assets;
  const html = renderDocument(page, {
    nonce: c.var.nonce,
    bundleUrl: assets.bundleUrl,
    shell: (body, scripts) => (
      <App title={options.title} body={body} scripts={scripts} cssUrl={assets.cssUrl} />
    ),
  });
  return c.html(html, (options.status ?? 200) as 200);
}
