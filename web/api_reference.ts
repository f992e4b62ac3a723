/**
 * The browser files of the interactive API reference at `/docs`: Swagger UI's bundle and
 * stylesheet, read from the `swagger-ui-dist` npm package where `deno install` put it (the
 * Deno cache, or node_modules), and the page's own start script and styles from `static/`.
 * Nothing is fetched from a CDN and nothing needs a build step: the package is part of the
 * module graph, so `deno cache main.ts` (the Dockerfile) and `deno install` make it local.
 */
import swaggerUiDir from "swagger-ui-dist/absolute-path.js";

/** One file the reference page loads. */
export interface ReferenceFile {
  body: Uint8Array<ArrayBuffer>;
  /** The body gzipped once here (Swagger UI's 1.7 MB bundle goes out as 0.5 MB). */
  gzipped: Uint8Array<ArrayBuffer>;
  contentType: string;
}

/** The reference's files, by name, and the fingerprint of them all that goes in their URLs. */
export interface ReferenceAssets {
  /** 12 hex digits of SHA-256 over every file: a new Swagger UI or start script, a new URL. */
  version: string;
  files: Map<string, ReferenceFile>;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

const loaded = new Map<string, Promise<ReferenceAssets>>();

/** The reference's files, read once per static directory and then kept in memory (~2 MB). */
export function referenceAssets(staticDir: string): Promise<ReferenceAssets> {
  let assets = loaded.get(staticDir);
  if (!assets) {
    assets = readReferenceAssets(staticDir);
    // A failed read is not kept: the next request tries again.
    assets.catch(() => loaded.delete(staticDir));
    loaded.set(staticDir, assets);
  }
  return assets;
}

async function readReferenceAssets(staticDir: string): Promise<ReferenceAssets> {
  const packageDir: string = swaggerUiDir();
  const newline = new TextEncoder().encode("\n");
  const sources: [string, string, Uint8Array<ArrayBuffer>][] = [
    ["swagger-ui.js", JS, await Deno.readFile(`${packageDir}/swagger-ui-bundle.js`)],
    // Ours after Swagger UI's, so the page's few overrides win.
    [
      "api_reference.css",
      CSS,
      concat([
        await Deno.readFile(`${packageDir}/swagger-ui.css`),
        newline,
        await Deno.readFile(`${staticDir}/api_reference.css`),
      ]),
    ],
    ["api_reference.js", JS, await Deno.readFile(`${staticDir}/api_reference.js`)],
  ];
  const files = new Map<string, ReferenceFile>();
  for (const [name, contentType, body] of sources) {
    files.set(name, { body, gzipped: await gzip(body), contentType });
  }
  const all = concat(sources.map(([, , body]) => body));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  const version = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return { version, files };
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function gzip(body: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  return await new Response(stream).bytes();
}
