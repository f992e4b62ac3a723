import config from "../fresh.config.ts";
import { readManifest } from "./build.ts";

/** The project root (where deno.json is). */
export const PROJECT_ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Where the browser finds the built bundle and the stylesheet, and where they are on disk. */
export interface WebAssets {
  /** `/static/build/islands.<hash>.js`, or null when no bundle was built. */
  bundleUrl: string | null;
  /** `/static/admin.css?v=<hash>`. */
  cssUrl: string;
  /** Absolute directory `/static/*` is served from. */
  staticDir: string;
  /** Absolute directory `/static/build/*` is served from (a test may build elsewhere). */
  buildDir: string;
}

/** Reads the build manifest in `buildDir` (the configured one by default) and fingerprints the CSS. */
export async function loadAssets(
  options: { root?: string; buildDir?: string } = {},
): Promise<WebAssets> {
  const root = options.root ?? PROJECT_ROOT;
  const staticDir = `${root}/${config.staticDir.replace(/^\.\//, "")}`;
  const buildDir = options.buildDir ?? `${root}/${config.buildDir.replace(/^\.\//, "")}`;
  const bundle = await readManifest(buildDir);
  let cssVersion = "0";
  try {
    const css = await Deno.readFile(`${staticDir}/admin.css`);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", css));
    cssVersion = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    // No stylesheet: pages still render.
  }
  return {
    bundleUrl: bundle ? `/static/build/${bundle}` : null,
    cssUrl: `/static/admin.css?v=${cssVersion}`,
    staticDir,
    buildDir,
  };
}
