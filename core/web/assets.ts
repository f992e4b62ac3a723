import config from "../../fresh.config.ts";
import { readManifest } from "./build.ts";
import type { WebAssets } from "./render.tsx";

/** The project root (where deno.json is). */
export const PROJECT_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Reads the build manifest and fingerprints the stylesheet. */
export async function loadAssets(root = PROJECT_ROOT): Promise<WebAssets> {
  const bundle = await readManifest(root);
  const staticPrefix = config.staticDir.replace(/^\.\//, "");
  const buildPrefix = config.buildDir.replace(/^\.\//, "").replace(`${staticPrefix}/`, "");
  let cssVersion = "0";
  try {
    const css = await Deno.readFile(`${root}/${staticPrefix}/admin.css`);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", css));
    cssVersion = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    // No stylesheet: pages still render.
  }
  return {
    bundleUrl: bundle ? `/static/${buildPrefix}/${bundle}` : null,
    cssUrl: `/static/admin.css?v=${cssVersion}`,
  };
}
