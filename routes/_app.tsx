import type { Context } from "hono";
import type { VNode } from "preact";
import type { AppEnv } from "../web/env.ts";
import { renderPage } from "../web/render.tsx";

/** The HTML shell every page renders into (Fresh's `_app.tsx`). */
export default function App(
  { title, body, scripts, cssUrl }: {
    title: string;
    body: VNode;
    scripts: VNode | null;
    cssUrl: string;
  },
): VNode {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · Doorman`}</title>
        <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href={cssUrl} />
      </head>
      <body>
        {body}
        {scripts}
      </body>
    </html>
  );
}

/** Answers with `page` inside the shell, titled `title`. */
export function page(
  c: Context<AppEnv>,
  content: VNode,
  options: { title: string; status?: number },
): Response {
  return renderPage(c, content, {
    status: options.status,
    shell: ({ body, scripts, assets }) => (
      <App title={options.title} body={body} scripts={scripts} cssUrl={assets.cssUrl} />
    ),
  });
}
