import { Hono } from "hono";
import { AppError } from "../core/errors.ts";
import type { AppEnv } from "../web/env.ts";

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
};

function noSuchFile(): AppError {
  return new AppError("NOT_FOUND", "No such file.");
}

/** `GET /static/*`: files of `static/`; hashed build files are cached for a year. */
export const staticRoutes = new Hono<AppEnv>()
  .get("/*", async (c) => {
    let path: string;
    try {
      path = decodeURIComponent(c.req.path.replace(/^\/static\//, ""));
    } catch {
      // A malformed escape (`%`, `%E0%A4%A`) names no file.
      throw noSuchFile();
    }
    const ext = path.split(".").pop() ?? "";
    if (
      !/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/.test(path.replace(/\.[a-z0-9]+$/, "")) ||
      path.split("/").some((part) => part.startsWith(".")) || !TYPES[ext]
    ) {
      throw noSuchFile();
    }
    const { staticDir, buildDir } = c.get("assets");
    const file = path.startsWith("build/")
      ? `${buildDir}/${path.slice("build/".length)}`
      : `${staticDir}/${path}`;
    let body: Uint8Array;
    try {
      body = await Deno.readFile(file);
    } catch {
      throw noSuchFile();
    }
    const immutable = /^build\/islands\.[0-9a-f]+\.js$/.test(path) ||
      c.req.query("v") !== undefined;
    c.header("Content-Type", TYPES[ext]);
    c.header(
      "Cache-Control",
      immutable ? "public, max-age=31536000, immutable" : "public, max-age=300",
    );
    return c.body(body as Uint8Array<ArrayBuffer>);
  });
