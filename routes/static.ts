import { Hono } from "hono";
import config from "../fresh.config.ts";
import { PROJECT_ROOT } from "../core/web/assets.ts";
import { AppError } from "../core/errors.ts";
import type { AppEnv } from "../core/web/env.ts";

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
};

/** `GET /static/*`: files of `static/`; hashed build files are cached for a year. */
export const staticRoutes = new Hono<AppEnv>()
  .get("/*", async (c) => {
    const path = decodeURIComponent(c.req.path.replace(/^\/static\//, ""));
    const ext = path.split(".").pop() ?? "";
    if (
      !/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/.test(path.replace(/\.[a-z0-9]+$/, "")) ||
      path.split("/").some((part) => part.startsWith(".")) || !TYPES[ext]
    ) {
      throw new AppError("NOT_FOUND", "No such file.");
    }
    let body: Uint8Array;
    try {
      body = await Deno.readFile(`${PROJECT_ROOT}/${config.staticDir}/${path}`);
    } catch {
      throw new AppError("NOT_FOUND", "No such file.");
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
