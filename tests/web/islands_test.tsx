import assert from "node:assert/strict";
import { parseHTML } from "linkedom";
import { useState } from "preact/hooks";
import { boot } from "../../web/client.ts";
import { Island, renderDocument, serializeProps } from "../../web/islands.tsx";

function Counter({ start, label }: { start: number; label: string }) {
  const [count, setCount] = useState(start);
  return (
    <button type="button" onClick={() => setCount(count + 1)}>
      {label}: {count}
    </button>
  );
}

const shell = (body: preact.VNode, scripts: preact.VNode | null) => (
  <html>
    <body>
      {body}
      {scripts}
    </body>
  </html>
);

Deno.test("islands - a page without islands ships no JavaScript", () => {
  const html = renderDocument(<p>Static</p>, { nonce: "n0nce", bundleUrl: "/b.js", shell });
  assert.match(
    html,
    /^<!DOCTYPE html><html><body><div id="page"><p>Static<\/p><\/div><\/body><\/html>$/,
  );
  assert.doesNotMatch(html, /<script/);
});

Deno.test("islands - an island renders on the server inside its marker, with its props", () => {
  const html = renderDocument(
    <main>
      <Island name="Counter" component={Counter} props={{ start: 3, label: "Clicks" }} />
      <Island name="Counter" component={Counter} props={{ start: 7, label: "Other" }} />
    </main>,
    { nonce: "n0nce", bundleUrl: "/static/build/islands.abc.js", shell },
  );
  assert.match(
    html,
    /<doorman-island data-island="Counter" data-index="0"><button type="button">Clicks: 3<\/button><\/doorman-island>/,
  );
  assert.match(html, /<doorman-island data-island="Counter" data-index="1">/);
  assert.match(html, /<script type="application\/json" id="__islands" nonce="n0nce">/);
  assert.match(
    html,
    /<script type="module" src="\/static\/build\/islands\.abc\.js" nonce="n0nce">/,
  );
  const json = html.match(/id="__islands" nonce="n0nce">(.*?)<\/script>/)![1];
  assert.deepEqual(JSON.parse(json), [
    { name: "Counter", props: { start: 3, label: "Clicks" } },
    { name: "Counter", props: { start: 7, label: "Other" } },
  ]);
});

Deno.test("islands - `</script>` in a prop is inert", () => {
  const evil = `</script><script>alert(1)</script><!--\u2028`;
  const html = renderDocument(
    <Island name="Counter" component={Counter} props={{ start: 0, label: evil }} />,
    { nonce: "n", bundleUrl: "/b.js", shell },
  );
  // The only script closers are the two the runtime wrote itself.
  assert.equal(html.match(/<\/script>/g)!.length, 2);
  assert.doesNotMatch(html, /<script>alert/);
  const { document } = parseHTML(html);
  const block = document.getElementById("__islands")!;
  assert.equal(JSON.parse(block.textContent!)[0].props.label, evil);
  assert.equal(serializeProps("<\u2029"), '"\\u003c\\u2029"');
});

Deno.test("islands - a page with islands but no bundle is a build error, not a silent page", () => {
  assert.throws(
    () =>
      renderDocument(
        <Island name="Counter" component={Counter} props={{ start: 0, label: "" }} />,
        {
          nonce: "n",
          bundleUrl: null,
          shell,
        },
      ),
    /deno task build/,
  );
});

Deno.test("islands - boot() hydrates each island with its props, and it becomes interactive", async () => {
  const html = renderDocument(
    <div>
      <p>static</p>
      <Island name="Counter" component={Counter} props={{ start: 41, label: "n" }} />
    </div>,
    { nonce: "n", bundleUrl: "/b.js", shell },
  );
  const { document, window } = parseHTML(html);
  const globals = globalThis as Record<string, unknown>;
  const saved = { document: globals.document, window: globals.window };
  Object.assign(globals, { document, window });
  try {
    const button = document.querySelector("button")!;
    assert.equal(boot({ Counter: Counter as never }, document), 1);
    assert.equal(document.querySelector("button"), button, "hydration keeps the server's nodes");
    button.dispatchEvent(new window.Event("click"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(button.textContent, "n: 42");
    assert.equal(boot({}, document), 0, "an unknown island is reported and skipped");
  } finally {
    Object.assign(globals, saved);
  }
});
