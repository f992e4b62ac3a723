/**
 * Dead exports: values a module exports that nothing uses, neither a module that imports it
 * nor the module itself; an `export` keeps them out of the linter's sight. A value counts as
 * imported when a file that imports its module (directly, or through modules that re-export
 * it) names it; tests count, so a seam exported for a test is alive. Default exports (islands,
 * configs) and the public modules (client/, server/, contract/: their users are apps) are left out, and
 * so are types (an exported function's parameter types are exported for `deno doc`).
 * `deno run --allow-read tests/architecture/exports.ts [root]` also lists the exports only their
 * own module uses (harmless, but the `export` could go).
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { graphFromSources, readSources, type Tok, tokenize } from "./graph.ts";

/** Modules whose exports are for programs outside the repository. */
export const PUBLIC = /^(client|server|contract)\//;

/** An exported value: its exported name, and its local name unless it is a re-export. */
export type ExportedValue = { name: string; local: string | null; mentions: number };

const DECLARATION = /^(function|const|let|var|class)$/;

/**
 * The values `src` exports by declaration or export list (not default, not types), with how
 * often the export itself names the local binding (`export { a }` names it once more).
 */
export function exportedValues(src: string): ExportedValue[] {
  const t = tokenize(src), out: ExportedValue[] = [];
  const is = (k: number, text: string) =>
    t[k] !== undefined && t[k].kind !== "str" && t[k].text === text;
  for (let i = 0; i < t.length; i++) {
    if (!is(i, "export") || is(i - 1, ".")) continue;
    let j = i + 1;
    if (is(j, "async") || is(j, "abstract")) j++;
    if (t[j]?.kind === "id" && DECLARATION.test(t[j].text)) {
      j += is(j + 1, "*") ? 2 : 1; // function*
      // `export const a = 1, b = 2` and destructuring are rare enough to leave to review.
      if (t[j]?.kind === "id") out.push({ name: t[j].text, local: t[j].text, mentions: 1 });
    } else if (is(j, "{")) {
      const list: Tok[][] = [[]];
      for (j++; j < t.length && !is(j, "}"); j++) {
        if (is(j, ",")) list.push([]);
        else list.at(-1)!.push(t[j]);
      }
      const reexport = is(j + 1, "from");
      for (const spec of list) {
        if (spec.length === 0 || (spec[0].text === "type" && spec.length > 1)) continue;
        const [local, name] = [spec[0].text, spec.at(-1)!.text];
        out.push({ name, local: reexport ? null : local, mentions: 2 });
      }
    }
  }
  return out;
}

/** Exported values of the non-public modules: those nothing uses, and those only their own module uses. */
export function unusedExports(
  sources: Record<string, string>,
): { dead: string[]; localOnly: string[] } {
  const graph = graphFromSources(sources);
  const importers = new Map<string, Set<string>>();
  for (const e of graph.edges) {
    if (e.external || e.from === e.to) continue;
    if (!importers.has(e.to)) importers.set(e.to, new Set());
    importers.get(e.to)!.add(e.from);
  }
  // Whoever imports a module that imports (or re-exports) this one may name its values.
  const reach = (file: string, seen = new Set<string>()): Set<string> => {
    for (const from of importers.get(file) ?? []) {
      if (!seen.has(from)) seen.add(from), reach(from, seen);
    }
    return seen;
  };
  const words = new Map<string, string[]>();
  const wordsOf = (file: string) => {
    if (!words.has(file)) {
      words.set(file, tokenize(sources[file]).filter((t) => t.kind === "id").map((t) => t.text));
    }
    return words.get(file)!;
  };
  const dead: string[] = [], localOnly: string[] = [];
  for (const file of graph.files) {
    if (PUBLIC.test(file)) continue;
    const users = [...reach(file)].filter((f) => f !== file);
    for (const { name, local, mentions } of exportedValues(sources[file])) {
      if (users.some((f) => wordsOf(f).includes(name))) continue;
      const ownUses = local === null ? 0 : wordsOf(file).filter((w) => w === local).length;
      (ownUses > mentions ? localOnly : dead).push(`${file}: ${name}`);
    }
  }
  return { dead, localOnly };
}

if (import.meta.main) {
  const root = resolve(Deno.args[0] ?? fileURLToPath(new URL("../..", import.meta.url)));
  const { dead, localOnly } = unusedExports(await readSources(root));
  console.log(`dead exports (nothing uses them): ${dead.length}`);
  for (const line of dead) console.log(`  - ${line}`);
  console.log(`exports only their own module uses: ${localOnly.length}`);
  for (const line of localOnly) console.log(`  - ${line}`);
}
