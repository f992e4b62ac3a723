import type { Context } from "hono";
import type { VNode } from "preact";
import type { WebAssets } from "./assets.ts";
import type { AppEnv } from "./env.ts";
import { renderDocument } from "./islands.tsx";

/** Wraps a rendered page in the HTML shell (the routes' `_app.tsx`). */
export type Shell = (parts: { body: VNode; scripts: VNode | null; assets: WebAssets }) => VNode;

/** Answers with a full HTML page (islands hydrate; a page without any ships no script). */
export function renderPage(
  c: Context<AppEnv>,
  page: VNode,
  options: { shell: Shell; status?: number },
): Response {
  const assets = c.get("assets");
  const html = renderDocument(page, {
    nonce: c.get("nonce"),
    bundleUrl: assets.bundleUrl,
    shell: (body, scripts) => options.shell({ body, scripts, assets }),
  });
  return c.html(html, (options.status ?? 200) as 200);
}
