import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { exportedValues, unusedExports } from "./architecture/exports.ts";
import config from "../fresh.config.ts";
import {
  checkLayers,
  describeCycle,
  findCycles,
  graphFromSources,
  layerOf,
  parseImports,
  readSources,
  scanImports,
} from "./architecture/graph.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

Deno.test("architecture - no import cycles, type imports included", async () => {
  const graph = await scanImports(ROOT);
  const cycles = findCycles(graph);
  assert.deepEqual(
    cycles,
    [],
    `${cycles.length} import cycle(s); cut one import in each:\n` +
      cycles.map((scc) => `  - ${describeCycle(graph, scc)}`).join("\n"),
  );
});

Deno.test(
  "architecture - layers: routes → web/core → kv; kv imports only kv; islands and the components they use import no server code; client/ only contract/ types; the product imports no fakes/, demo/, bench/ or tests/",
  async () => {
    const violations = checkLayers(await scanImports(ROOT));
    assert.deepEqual(
      violations,
      [],
      `${violations.length} layer violation(s):\n` + violations.map((v) => `  - ${v}`).join("\n"),
    );
  },
);

Deno.test("architecture - no dead exports: every exported value is used somewhere", async () => {
  const { dead } = unusedExports(await readSources(ROOT));
  assert.deepEqual(
    dead,
    [],
    `${dead.length} exported value(s) nothing uses; delete them ` +
      "(`deno run --allow-read tests/architecture/exports.ts` lists them):\n" +
      dead.map((d) => `  - ${d}`).join("\n"),
  );
});

Deno.test("architecture - the programs deno.json's tasks run live outside tests/", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    tasks: Record<string, string>;
  };
  const entries = Object.values(tasks).flatMap((line) => line.match(/[\w./-]+\.tsx?\b/g) ?? []);
  assert.ok(entries.includes("demo/main.ts") && entries.includes("fakes/telegram_main.ts"));
  assert.deepEqual(entries.filter((path) => path.startsWith("tests/")), []);
});

Deno.test("architecture - islands/ holds only islands, each in fresh.config.ts once, each page's <Island> one of them", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}/islands`)) files.push(`islands/${entry.name}`);
  assert.deepEqual([...config.islands].sort(), files.sort(), "fresh.config.ts lists islands/");
  assert.equal(new Set(config.islands).size, config.islands.length, "each island once");
  const names = new Set(config.islands.map((path) => path.replace(/^islands\/|\.tsx$/g, "")));
  const { files: scanned } = await scanImports(ROOT);
  let used = 0;
  for (const file of scanned.filter((f) => f.startsWith("routes/") && f.endsWith(".tsx"))) {
    const src = await Deno.readTextFile(`${ROOT}/${file}`);
    for (
      const [, name, component] of src.matchAll(/<Island\s+name="(\w+)"\s+component=\{(\w+)\}/g)
    ) {
      used++;
      assert.ok(names.has(name), `${file}: "${name}" is no island of fresh.config.ts`);
      const from = new RegExp(`import ${component}\\b[^;]*from "[./]*islands/${name}\\.tsx"`);
      assert.match(src, from, `${file}: <Island name="${name}"> renders islands/${name}.tsx`);
    }
  }
  assert.ok(used >= config.islands.length, `every island is rendered by a page (${used} seen)`);
});

Deno.test("architecture scanner - reads the real tree: product, fakes/, demo/, bench/, tests/", async () => {
  const { files } = await scanImports(ROOT);
  assert.ok(files.includes("main.ts") && files.includes("fresh.config.ts"));
  for (const dir of ["kv", "fakes", "demo", "bench", "tests"]) {
    assert.ok(files.some((f) => f.startsWith(`${dir}/`)), dir);
  }
  assert.ok(files.includes("fakes/telegram.ts") && files.includes("demo/main.ts"));
  assert.deepEqual(files.filter((f) => /^(data|static|tests\/artifacts)\//.test(f)), []);
});

Deno.test("architecture scanner - multi-line import lists and re-exports", () => {
  const src = `
import {
  a,
  b as c,
} from "./a.ts";
import D, * as ns from "../d.ts";
import "./side-effect.ts";
export { e } from "./e.ts";
export * from "./f.ts";
export * as g from "./g.ts";
export { local };
import h from "./h.ts"
`;
  assert.deepEqual(parseImports(src).map((r) => r.specifier), [
    "./a.ts",
    "../d.ts",
    "./side-effect.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
  ]);
});

Deno.test("architecture scanner - `import type` and `{ type A }` are type-only, mixed lists are not", () => {
  const src = `
import type { A } from "./a.ts";
import type B from "./b.ts";
import { type C, type D as E } from "./c.ts";
import { type F, g } from "./f.ts";
import H, { type I } from "./h.ts";
import { type } from "./type-named.ts";
export type { J } from "./j.ts";
export { type K } from "./k.ts";
export type * from "./l.ts";
`;
  assert.deepEqual(parseImports(src).map((r) => [r.specifier, r.typeOnly]), [
    ["./a.ts", true],
    ["./b.ts", true],
    ["./c.ts", true],
    ["./f.ts", false],
    ["./h.ts", false],
    ["./type-named.ts", false],
    ["./j.ts", true],
    ["./k.ts", true],
    ["./l.ts", true],
  ]);
});

Deno.test("architecture scanner - dynamic imports with a string literal", () => {
  const src = `
const { buildIslands } = await import("./build.ts");
lazy(() => import('./page.tsx'));
const m = await import(\`./plain.ts\`);
type T = typeof import("./types.ts");
await import(path); // not a literal: unknown, skipped
console.log(import.meta.url, obj.import("./not-a-module.ts"));
`;
  assert.deepEqual(parseImports(src), [
    { specifier: "./build.ts", typeOnly: false },
    { specifier: "./page.tsx", typeOnly: false },
    { specifier: "./plain.ts", typeOnly: false },
    { specifier: "./types.ts", typeOnly: true },
  ]);
});

Deno.test("architecture scanner - `import` in comments, strings, templates and regexes is not an import", () => {
  const src = `
// import { a } from "./comment.ts";
/* import "./block.ts";
   export * from "./block2.ts"; */
const s = 'import { b } from "./string.ts"';
const t = "export * from './string2.ts'";
const entry = [
  \`import { boot } from "\${fromBuild("web/client.ts")}";\`,
  ...islands.map((path, i) => \`import island\${i} from "\${fromBuild(path)}";\`),
].join("\\n");
const re = /"|import x from "\\.\\/regex.ts"/;
const half = total / 2; import { real } from "./real.ts";
const jsx = <p>Don't import "./jsx.ts" here</p>;
import { after } from "./after.ts";
`;
  assert.deepEqual(parseImports(src).map((r) => r.specifier), ["./real.ts", "./after.ts"]);
});

Deno.test("architecture scanner - relative specifiers resolve to project paths, bare ones are external", () => {
  const graph = graphFromSources({
    "core/auth/otp.ts": `import { x } from "../../kv/users.ts";
import { Hono } from "hono";
import { createHash } from "node:crypto";
import { z } from "npm:zod@4";
import { y } from "./codes.ts";`,
  });
  assert.deepEqual(graph.edges.map((e) => [e.to, e.external]), [
    ["kv/users.ts", false],
    ["hono", true],
    ["node:crypto", true],
    ["npm:zod@4", true],
    ["core/auth/codes.ts", false],
  ]);
});

Deno.test("architecture scanner - a 3-file cycle is found, type-only edges included", () => {
  const graph = graphFromSources({
    "core/a.ts": `import { b } from "./b.ts";`,
    "core/b.ts": `import type { C } from "./c.ts";`,
    "core/c.ts": `import { a } from "./a.ts";`,
    "core/d.ts": `import { a } from "./a.ts";`, // reaches the cycle but is not in it
    "core/e.ts": `export { e } from "./e.ts";`, // a self-import is a cycle too
  });
  const cycles = findCycles(graph);
  assert.deepEqual(cycles, [["core/a.ts", "core/b.ts", "core/c.ts"], ["core/e.ts"]]);
  assert.match(
    describeCycle(graph, cycles[0]),
    /core\/a\.ts → core\/b\.ts → core\/c\.ts → core\/a\.ts/,
  );
});

Deno.test("architecture scanner - layer rules", () => {
  assert.deepEqual(
    ["main.ts", "app.ts", "fresh.config.ts", "web/render.tsx", "routes/api/v1/me.ts"].map(layerOf),
    ["main", "app", "config", "web", "routes"],
  );
  const violations = checkLayers(graphFromSources({
    "main.ts": `import { app } from "./app.ts";`,
    "app.ts": `import { me } from "./routes/api/v1/me.ts"; import { kv } from "./kv/users.ts";`,
    "kv/users.ts": `import type { User } from "../core/users.ts";`,
    "core/users.ts": `import type { Context } from "hono"; import { u } from "../kv/users.ts";`,
    "web/render.tsx": `import { h } from "preact"; import "../routes/_app.tsx";`,
    "routes/api/v1/me.ts": `import { r } from "../../../web/render.tsx"; import "../../../app.ts";`,
    "islands/Me.tsx": `import type { Me } from "../routes/api/v1/me.ts";
import { hc } from "hono/client"; import { useState } from "preact/hooks";
import { z } from "zod"; import { k } from "../kv/users.ts";`,
  }));
  assert.deepEqual(violations, [
    `core/users.ts imports "hono" (type-only): core may not import hono (no HTTP or UI types in core)`,
    `islands/Me.tsx imports "zod": islands may import only preact, preact/*, @preact/signals and hono/client`,
    "islands/Me.tsx imports kv/users.ts: islands may not import kv",
    "kv/users.ts imports core/users.ts (type-only): kv may not import core",
    "routes/api/v1/me.ts imports app.ts: routes may not import app; only main.ts may import app.ts",
    "web/render.tsx imports routes/_app.tsx: web may not import routes; " +
    "only app.ts may import routes/ from outside routes/",
  ]);
});

Deno.test("architecture scanner - server/ imports only itself, contract/ types and jose", () => {
  const violations = checkLayers(graphFromSources({
    "server/mod.ts": `import type { ErrorCode } from "../contract/api.ts";
import { createRemoteJWKSet } from "jose";
import { DoormanError } from "./errors.ts";
import { DoormanError as Theirs } from "../client/errors.ts";
import { z } from "zod";`,
    "server/errors.ts":
      `import { x } from "../contract/api.ts"; import { AppError } from "../core/errors.ts";`,
  }));
  assert.deepEqual(violations, [
    "server/errors.ts imports contract/api.ts: server may not import contract (contract/ only as types)",
    "server/errors.ts imports core/errors.ts: server may not import core (contract/ only as types)",
    `server/mod.ts imports "zod": server may import only the package jose`,
    "server/mod.ts imports client/errors.ts: server may not import client (contract/ only as types)",
  ]);
});

Deno.test("architecture scanner - client/ imports only itself and contract/ types; contract/ imports nothing", () => {
  const violations = checkLayers(graphFromSources({
    "client/mod.ts": `import type { TokenPair } from "../contract/api.ts";
import { PresenceSocket } from "./presence.ts";
import { CLOSE } from "../core/presence/hub.ts";
import type { AppEnv } from "../web/env.ts";
import { z } from "zod";
import type { Hono } from "hono";`,
    "client/presence.ts": `import { x } from "../contract/api.ts";`,
    "contract/api.ts": `import type { User } from "../kv/users.ts"; import type { Z } from "zod";`,
    "core/users.ts": `import type { PublicUser } from "../contract/api.ts";`,
    "routes/api/v1/me.ts": `import type { PublicUser } from "../../../contract/api.ts";`,
  }));
  assert.deepEqual(violations, [
    `client/mod.ts imports "hono" (type-only): client may import no packages`,
    `client/mod.ts imports "zod": client may import no packages`,
    "client/mod.ts imports core/presence/hub.ts: client may not import core (contract/ only as types)",
    "client/mod.ts imports web/env.ts (type-only): client may not import web (contract/ only as types)",
    "client/presence.ts imports contract/api.ts: client may not import contract (contract/ only as types)",
    `contract/api.ts imports "zod" (type-only): contract may import no packages`,
    "contract/api.ts imports kv/users.ts (type-only): contract may not import kv",
  ]);
});

Deno.test("architecture scanner - fakes/, demo/, bench/: never imported by the product, never importing tests/", () => {
  const violations = checkLayers(graphFromSources({
    "core/a.ts": `import { f } from "../fakes/telegram.ts";`,
    "routes/b.ts": `import type { D } from "../demo/visitor.ts";`,
    "kv/c.ts": `import { h } from "../tests/helpers.ts";`,
    "web/d.ts": `import { b } from "../bench/doorman.ts";`,
    "fakes/telegram.ts": `import { sign } from "../core/delivery/http_provider.ts";
import { t } from "../tests/helpers.ts"; import { d } from "../demo/visitor.ts";`,
    "demo/main.ts": `import { f } from "../fakes/telegram.ts"; import "../main.ts";
import { x } from "../core/ids.ts"; import { h } from "../tests/helpers.ts";
import { b } from "../bench/doorman.ts";`,
    "bench/doorman.ts": `const { createApp } = await import("../app.ts");
import { g } from "../fakes/kv_guard.ts"; import { r } from "../routes/api/v1/me.ts";
import { p } from "../tests/crash/process.ts"; import { v } from "../demo/visitor.ts";`,
    "tests/x_test.ts":
      `import { f } from "../fakes/telegram.ts"; import { d } from "../demo/main.ts";
import { b } from "../bench/doorman.ts"; import { app } from "../app.ts";`,
  }));
  assert.deepEqual(violations, [
    "bench/doorman.ts imports demo/visitor.ts: bench may not import demo",
    "bench/doorman.ts imports tests/crash/process.ts: bench may not import tests",
    "core/a.ts imports fakes/telegram.ts: core may not import fakes (fakes/ is not product code)",
    "demo/main.ts imports bench/doorman.ts: demo may not import bench",
    "demo/main.ts imports tests/helpers.ts: demo may not import tests",
    "fakes/telegram.ts imports demo/visitor.ts: fakes may not import demo",
    "fakes/telegram.ts imports tests/helpers.ts: fakes may not import tests",
    "kv/c.ts imports tests/helpers.ts: kv may not import tests (tests/ is not product code)",
    "routes/b.ts imports demo/visitor.ts (type-only): routes may not import demo " +
    "(demo/ is not product code)",
    "web/d.ts imports bench/doorman.ts: web may not import bench (bench/ is not product code)",
  ]);
});

Deno.test("dead exports - an exported value nothing uses is dead; used only at home it is alive", () => {
  assert.deepEqual(
    exportedValues(`export async function a() {}
export const b = 1, c = 2;
export function* d() {}
export class E {}
export type F = string;
export interface G {}
export default function H() {}
const i = 1, j = 2;
export { i, j as k, type L };
export { m } from "./m.ts";
export * from "./n.ts";`).map((v) => v.name),
    ["a", "b", "d", "E", "i", "k", "m"],
  );
  const { dead, localOnly } = unusedExports({
    "kv/a.ts": `export function used() {}
export function home() {}
export function dead() {}
export function never() {}
export const viaNamespace = 1;
export const viaReexport = 2;
export default function island() {}
home();`,
    "kv/b.ts": `import { used } from "./a.ts"; import * as a from "./a.ts";
used(); a.viaNamespace;`,
    "kv/c.ts": `export { viaReexport, dead as gone } from "./a.ts";`,
    "kv/d.ts": `import { viaReexport } from "./c.ts";`,
    "client/mod.ts": `export function forApps() {}`,
  });
  // `dead` is named by its re-export, itself dead: deleting that shows `dead` on the next run.
  assert.deepEqual(dead, ["kv/a.ts: never", "kv/c.ts: gone"]);
  assert.deepEqual(localOnly, ["kv/a.ts: home"]);
});

Deno.test("architecture scanner - components: routes and islands use them; one an island reaches imports only what islands may", () => {
  const violations = checkLayers(graphFromSources({
    "routes/admin/users.tsx": `import { Layout } from "../../components/Layout.tsx";
import T from "../../islands/T.tsx";`,
    "islands/T.tsx": `import { api } from "../components/lib/api.ts";
import { Row } from "../components/Row.tsx";
import O from "./Other.tsx";`,
    "islands/Other.tsx": ``,
    "components/lib/api.ts": `import type { AdminApi } from "../../routes/api/v1/admin.ts";
import { hc } from "hono/client";`,
    "components/Row.tsx": `import type { User } from "../core/users.ts";
import { fmt } from "./lib/format.ts";`,
    "components/lib/format.ts": `import { z } from "zod";`,
    "components/BootConfig.tsx": `import type { AdminConfig } from "../core/admin/config.ts";
import { read } from "../core/admin/config.ts";
import { r } from "../routes/admin/_page.tsx";
import type { AppEnv } from "../web/env.ts";
import { h } from "preact";`,
    "components/Layout.tsx": `import type { ComponentChildren } from "preact";`,
  }));
  assert.deepEqual(violations, [
    "components/BootConfig.tsx imports core/admin/config.ts: components may not import core",
    "components/BootConfig.tsx imports routes/admin/_page.tsx: components may not import routes; " +
    "only app.ts may import routes/ from outside routes/",
    "components/BootConfig.tsx imports web/env.ts (type-only): components may not import web",
    "components/Row.tsx imports core/users.ts (type-only): components may not import core " +
    "(it is bundled for the browser: an island imports it)",
    `components/lib/format.ts imports "zod": components may import only preact, preact/*, ` +
    "@preact/signals and hono/client",
    "islands/T.tsx imports islands/Other.tsx: islands may not import islands",
  ]);
});
