import assert from "node:assert/strict";
import { buildIslands, readManifest } from "../../web/build.ts";

Deno.test("build - two builds of the same sources give the same bundle, whatever the directory", async () => {
  const first = await Deno.makeTempDir();
  const second = await Deno.makeTempDir();
  try {
    // Unminified, as `deno task dev` builds on every start: its bundle names each module.
    const [a, b] = await Promise.all([
      buildIslands({ outDir: first, minify: false }),
      buildIslands({ outDir: second, minify: false }),
    ]);
    assert.equal(a.file, b.file);
    assert.match(a.file, /^islands\.[0-9a-f]{12}\.js$/);
    assert.deepEqual(
      await Deno.readFile(`${first}/${a.file}`),
      await Deno.readFile(`${second}/${b.file}`),
    );
    // Again into the same directory: the same name, and the manifest still names it.
    const again = await buildIslands({ outDir: first, minify: false });
    assert.equal(again.file, a.file);
    assert.equal(await readManifest(first), a.file);
    const names = [...Deno.readDirSync(first)].map((entry) => entry.name).sort();
    assert.deepEqual(names, [a.file, "manifest.json"], "no leftovers");
  } finally {
    await Deno.remove(first, { recursive: true });
    await Deno.remove(second, { recursive: true });
  }
});
