/**
 * The project's import graph, read from source: who imports whom, type-only or not, plus the
 * cycle and layer checks the architecture test asserts. Run it for a summary:
 * `deno run --allow-read tests/architecture/graph.ts [root]`.
 */
import { posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** One import or re-export: `to` is a project-relative path, or the specifier if external. */
export type Edge = { from: string; to: string; typeOnly: boolean; external: boolean };
/** The scanned files (project-relative, sorted) and their imports. */
export type Graph = { files: string[]; edges: Edge[] };
/** A module specifier found in a source file. */
export type ImportRef = { specifier: string; typeOnly: boolean };

/** One token: a word, a string (its text), template or regex text, or a punctuator. */
export type Tok = { kind: "id" | "str" | "tpl" | "punct"; text: string };

// At the cursor: space, comments, a quoted string (ending at a newline at the latest, so a
// stray `'` in JSX text cannot swallow the file), a word, or one punctuator.
const LEXEME =
  /\s+|\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|(["'])(?:\\.|(?!\1)[^\\\n])*\1?|[\w$#]+|[\s\S]/y;
const TEMPLATE_TEXT = /(?:\\[\s\S]|[^\\`$]|\$(?!\{))*(`|\$\{|$)/y;
const REGEX = /\/(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n[])*\/?/y;
// After these (and after punctuators but `)`, `]`, `}`), a `/` starts a regex, not a division.
const BEFORE_EXPR = /^(return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/;

/**
 * Enough of a JS/TS tokenizer to tell code from comments, strings, template text and regexes,
 * so that `import` in generated-code templates (web/build.ts) never counts. A template's
 * `${…}` is code and is tokenized; its text is not.
 */
export function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  const braces: boolean[] = []; // per open `{`: whether it is a template's `${`
  const template = (at: number, whole: boolean) => {
    TEMPLATE_TEXT.lastIndex = at;
    const [text, end] = TEMPLATE_TEXT.exec(src)!;
    if (end === "${") braces.push(true), toks.push({ kind: "punct", text: end });
    // Only a template without substitutions can be a specifier: import(`./x.ts`).
    else toks.push({ kind: whole ? "str" : "tpl", text: text.slice(0, -1) });
    return TEMPLATE_TEXT.lastIndex;
  };
  for (let i = 0; i < src.length;) {
    const c = src[i], prev = toks.at(-1);
    const regexHere = c === "/" && !"/*".includes(src[i + 1]) &&
      (!prev ||
        (prev.kind === "id"
          ? BEFORE_EXPR.test(prev.text)
          : prev.kind === "punct" && !")]}".includes(prev.text)));
    if (c === "`") i = template(i + 1, true);
    else if (c === "}" && braces.at(-1)) braces.pop(), i = template(i + 1, false);
    else if (regexHere) {
      REGEX.lastIndex = i;
      i += REGEX.exec(src)![0].length;
      toks.push({ kind: "tpl", text: "/re/" });
    } else {
      LEXEME.lastIndex = i;
      const [text] = LEXEME.exec(src)!;
      i += text.length;
      if (/^(\s|\/[/*])/.test(text)) continue;
      if (/^["']/.test(text)) toks.push({ kind: "str", text: text.slice(1, -1) });
      else if (/^[\w$#]/.test(text)) toks.push({ kind: "id", text });
      else {
        if (text === "{") braces.push(false);
        if (text === "}") braces.pop();
        toks.push({ kind: "punct", text });
      }
    }
  }
  return toks;
}

const is = (t: Tok | undefined, text: string) =>
  t !== undefined && t.kind !== "str" && t.text === text;

/** Reads `{ a, type B as C }` at `j`: the index of its `}`, and whether all so far are types. */
function namedSpecifiers(t: Tok[], j: number, allTypes: boolean) {
  const specs: Tok[][] = [[]];
  for (j++; j < t.length && !is(t[j], "}"); j++) {
    if (is(t[j], ",")) specs.push([]);
    else specs.at(-1)!.push(t[j]);
  }
  const named = specs.filter((s) => s.length > 0);
  // `type A`, `type A as B` are types; `type` and `type as x` name a value called "type".
  const typed = (s: Tok[]) =>
    is(s[0], "type") && s.length !== 1 && !(s.length === 3 && is(s[1], "as"));
  return { end: j, allTypes: allTypes && named.length > 0 && named.every(typed) };
}

/** Every static import, re-export and literal dynamic import in one source file. */
export function parseImports(src: string): ImportRef[] {
  const t = tokenize(src), out: ImportRef[] = [];
  for (let i = 0; i < t.length; i++) {
    const kw = t[i].kind === "id" && !is(t[i - 1], ".") ? t[i].text : ""; // not `x.import`
    let j = i + 1;
    if (kw === "import" && is(t[j], "(")) { // dynamic; `typeof import("x")` is a type position
      if (t[j + 1]?.kind === "str" && (is(t[j + 2], ")") || is(t[j + 2], ","))) {
        out.push({ specifier: t[j + 1].text, typeOnly: is(t[i - 1], "typeof") });
      }
    } else if (kw === "import" && t[j]?.kind === "str") {
      out.push({ specifier: t[j].text, typeOnly: false });
    } else if (kw === "import" || kw === "export") {
      // `import type X`, `export type {…}`; but `import type from "x"` is a default named type.
      const typeOnly = is(t[j], "type") && !is(t[j + 1], "from") && !is(t[j + 1], ",");
      let valueBinding = false, allTypes = true;
      // The clause: `D`, `* as ns`, `{…}`, comma-separated; anything else is no import/re-export
      // (`export const`, `export { local };`), and stops before the next statement.
      for (j += typeOnly ? 1 : 0; j < t.length && !is(t[j], "from"); j++) {
        if (is(t[j], "{")) ({ end: j, allTypes } = namedSpecifiers(t, j, allTypes));
        else if (is(t[j], "*")) (j += is(t[j + 1], "as") ? 2 : 0), valueBinding = true;
        else if (kw === "import" && t[j].kind === "id") valueBinding = true;
        else if (!is(t[j], ",")) break;
      }
      if (is(t[j], "from") && t[j + 1]?.kind === "str") {
        out.push({ specifier: t[j + 1].text, typeOnly: typeOnly || (!valueBinding && allTypes) });
      }
    }
  }
  return out;
}

const ROOT_FILES: Record<string, string> = {
  "main.ts": "main",
  "app.ts": "app",
  "fresh.config.ts": "config",
};
/** The product's folders (its root files are read anyway). */
const PRODUCT_DIRS = [
  "core",
  "kv",
  "routes",
  "web",
  "islands",
  "components",
  "client",
  "server",
  "contract",
];
/** The programs around the product. */
const PROGRAM_DIRS = ["fakes", "demo", "bench", "tests"];
/** What the graph covers: the product's folders, then the programs around it. */
export const SOURCE_DIRS = [...PRODUCT_DIRS, ...PROGRAM_DIRS];
const SKIP = new Set(["static/build", "data", "node_modules", "tests/artifacts"]);

/** Builds the graph from project-relative paths and their sources (no disk access). */
export function graphFromSources(sources: Record<string, string>): Graph {
  const files = Object.keys(sources).sort();
  const seen = new Set<string>(), edges: Edge[] = [];
  for (const from of files) {
    for (const { specifier, typeOnly } of parseImports(sources[from])) {
      const external = !specifier.startsWith("./") && !specifier.startsWith("../");
      const to = external ? specifier : posix.join(posix.dirname(from), specifier);
      const key = `${from}\0${to}\0${typeOnly}`;
      if (!seen.has(key)) seen.add(key), edges.push({ from, to, typeOnly, external });
    }
  }
  return { files, edges };
}

/** Reads every `.ts`/`.tsx` file of the source roots under `root` and builds the graph. */
export async function scanImports(root: string): Promise<Graph> {
  return graphFromSources(await readSources(root));
}

/** The root files and every `.ts`/`.tsx` file under `dirs`, by project-relative path. */
export async function readSources(
  root: string,
  dirs: string[] = SOURCE_DIRS,
): Promise<Record<string, string>> {
  const sources: Record<string, string> = {};
  const read = async (rel: string) => sources[rel] = await Deno.readTextFile(posix.join(root, rel));
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(posix.join(root, dir))) {
      const rel = posix.join(dir, entry.name);
      // bench/peer/node_modules: the Node peer's own packages (bench/peer/package.json).
      if (entry.name.startsWith(".") || entry.name === "node_modules" || SKIP.has(rel)) continue;
      if (entry.isDirectory) await walk(rel);
      else if (entry.isFile && /\.tsx?$/.test(entry.name)) await read(rel);
    }
  };
  const exists = async (rel: string) =>
    await Deno.stat(posix.join(root, rel)).then(() => true, () => false);
  for (const file of Object.keys(ROOT_FILES)) if (await exists(file)) await read(file);
  for (const dir of dirs) if (await exists(dir)) await walk(dir);
  return sources;
}

/** Strongly connected components (Tarjan) with more than one file, or a self-import; sorted. */
export function findCycles(graph: Graph): string[][] {
  const next = new Map<string, string[]>(graph.files.map((f) => [f, []]));
  for (const e of graph.edges) if (!e.external && next.has(e.to)) next.get(e.from)!.push(e.to);
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size), low.set(v, index.get(v)!), stack.push(v), onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do (w = stack.pop()!), onStack.delete(w), scc.push(w); while (w !== v);
    if (scc.length > 1 || next.get(v)!.includes(v)) cycles.push(scc.sort());
  };
  for (const f of graph.files) if (!index.has(f)) visit(f);
  return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

/** One cycle as text: its files and a shortest loop through the first, to show what to cut. */
export function describeCycle(graph: Graph, scc: string[]): string {
  const inScc = new Set(scc), start = scc[0], via = new Map<string, string>();
  const queue = [start];
  for (let k = 0; k < queue.length && !via.has(start); k++) {
    for (const e of graph.edges) {
      if (e.from !== queue[k] || e.external || !inScc.has(e.to) || via.has(e.to)) continue;
      via.set(e.to, queue[k]), queue.push(e.to);
    }
  }
  const loop = [start];
  for (let f = via.get(start)!; f !== start; f = via.get(f)!) loop.unshift(f);
  return `${scc.length} files: ${scc.join(", ")}\n    e.g. ${[start, ...loop].join(" → ")}`;
}

/** The layer of a project-relative path: main, app, config, or its top-level folder. */
export const layerOf = (path: string): string => ROOT_FILES[path] ?? path.split("/")[0];

/** The package an external specifier names, without `npm:` and version: `hono/cors`. */
const pkg = (spec: string) =>
  spec.replace(/^npm:\/?/, "").replace(/^(@[^/]+\/[^/@]+|[^/@]+)@[^/]*/, "$1");

/** The layers of the product: its root files and folders (the programs around it are not). */
export const PRODUCT = new Set(["main", "app", "config", ...PRODUCT_DIRS]);

// The layers each layer may import (internal files only; type-only imports count too).
const MAY_IMPORT: Record<string, RegExp> = {
  main: /./,
  app: /^(?!main$)/,
  config: /^$/, // nothing internal
  kv: /^kv$/,
  core: /^(core|kv|contract)$/,
  web: /^(web|core|config)$/,
  routes: /^(routes|web|core|islands|components|config|contract)$/,
  // An island is a leaf: what it shares with others lives in components/.
  islands: /^components$/,
  components: /^components$/,
  // The SDK bundles for browsers alone: the wire types of contract/ (type-only, below) and itself.
  client: /^client$/,
  // The backend SDK likewise: itself, contract/ as types, and the package jose (below).
  server: /^server$/,
  contract: /^contract$/,
  // The stand-ins that `deno task demo`, `fake:telegram` and the tests run (may use the product's
  // own code, e.g. the webhook signature); the demo and the benchmarks drive the product and
  // the fakes. None of them may reach into tests/, nor into each other.
  fakes: /^(?!tests$|demo$|bench$)/,
  demo: /^(?!tests$|bench$)/,
  bench: /^(?!tests$|demo$)/,
  tests: /./,
};
const ISLAND_EXTERNALS = /^(preact|preact\/.+|@preact\/signals|hono\/client)$/;

/**
 * Why one import breaks the rules; empty when it does not. `browser`: the importing file is
 * bundled for the browser (an island, or a component an island reaches).
 */
function reasons(e: Edge, browser: boolean): string[] {
  const from = layerOf(e.from), why: string[] = [];
  if (e.external) {
    const name = pkg(e.to);
    if (from === "core" && /^(hono|preact)|^@preact\//.test(name)) {
      why.push(`core may not import ${name} (no HTTP or UI types in core)`);
    }
    if ((from === "islands" || from === "components") && !ISLAND_EXTERNALS.test(name)) {
      why.push(`${from} may import only preact, preact/*, @preact/signals and hono/client`);
    }
    if (from === "client" || from === "contract") why.push(`${from} may import no packages`);
    if (from === "server" && name !== "jose") why.push("server may import only the package jose");
    return why;
  }
  const to = layerOf(e.to);
  // The islands' typed API client needs the route types, and only the types.
  const islandTypes = (from === "islands" || from === "components") && e.typeOnly &&
    e.to.startsWith("routes/api/");
  const clientTypes = (from === "client" || from === "server") && e.typeOnly && to === "contract";
  // A server component renders what core read: its types, never its code.
  const serverTypes = from === "components" && !browser && e.typeOnly &&
    /^(core|contract)$/.test(to);
  if (!MAY_IMPORT[from]?.test(to) && !islandTypes && !clientTypes && !serverTypes) {
    const hint = from === "client" || from === "server"
      ? " (contract/ only as types)"
      : from === "components" && browser && /^(core|contract)$/.test(to)
      ? " (it is bundled for the browser: an island imports it)"
      : PRODUCT.has(from) && !PRODUCT.has(to)
      ? ` (${to}/ is not product code)`
      : "";
    why.push(`${from} may not import ${to}${hint}`);
  }
  // Within the product; the demo and the benchmarks start the app their own way.
  if (!PRODUCT.has(from)) return why;
  if (to === "app" && from !== "main") why.push("only main.ts may import app.ts");
  if (to === "routes" && !/^(routes|app)$/.test(from) && !islandTypes) {
    why.push("only app.ts may import routes/ from outside routes/");
  }
  return why;
}

/** The islands and every component they reach: the files bundled for the browser. */
export function browserFiles(graph: Graph): Set<string> {
  const reached = new Set(graph.files.filter((f) => layerOf(f) === "islands"));
  const queue = [...reached];
  for (let k = 0; k < queue.length; k++) {
    for (const e of graph.edges) {
      if (e.from !== queue[k] || e.external || layerOf(e.to) !== "components") continue;
      if (!reached.has(e.to)) reached.add(e.to), queue.push(e.to);
    }
  }
  return reached;
}

/** Every layer violation, one line per offending import, sorted. */
export function checkLayers(graph: Graph): string[] {
  const browser = browserFiles(graph);
  return graph.edges.flatMap((e) => {
    const why = reasons(e, browser.has(e.from)), to = e.external ? `"${e.to}"` : e.to;
    return why.length
      ? [`${e.from} imports ${to}${e.typeOnly ? " (type-only)" : ""}: ${why.join("; ")}`]
      : [];
  }).sort();
}

if (import.meta.main) {
  const root = resolve(Deno.args[0] ?? fileURLToPath(new URL("../..", import.meta.url)));
  const graph = await scanImports(root);
  const internal = graph.edges.filter((e) => !e.external);
  const types = internal.filter((e) => e.typeOnly).length;
  const perLayer = Object.entries(Object.groupBy(graph.files, layerOf));
  const cycles = findCycles(graph), violations = checkLayers(graph);
  console.log([
    `root: ${root}`,
    `files: ${graph.files.length} (${perLayer.map(([l, f]) => `${l} ${f!.length}`).join(", ")})`,
    `internal imports: ${internal.length} (value ${internal.length - types}, type-only ${types})`,
    `external imports: ${graph.edges.length - internal.length}`,
    `cycles: ${cycles.length}`,
    ...cycles.map((scc) => `  - ${describeCycle(graph, scc)}`),
    `layer violations: ${violations.length}`,
    ...violations.map((v) => `  - ${v}`),
  ].join("\n"));
}
