import { type ComponentType, createContext, h, type VNode } from "preact";
import { useContext } from "preact/hooks";
import { renderToString } from "preact-render-to-string";

/** The islands one page rendered, in order, with their props. */
export interface IslandCollector {
  islands: { name: string; props: Record<string, unknown> }[];
}

const CollectorContext = createContext<IslandCollector | null>(null);

/** The tag wrapping each island in the HTML; `display: contents` keeps it out of layout. */
export const ISLAND_TAG = "doorman-island";
/** Id of the JSON block that carries every island's props. */
export const ISLAND_DATA_ID = "__islands";

/**
 * Renders `component` on the server and marks it for hydration in the browser: the markup
 * goes inside `<doorman-island data-island="Name" data-index="n">`, the props into the page's
 * JSON block. `name` must be one of `fresh.config.ts`'s islands.
 */
export function Island<P extends Record<string, unknown>>(
  { name, component, props }: { name: string; component: ComponentType<P>; props: P },
): VNode {
  const collector = useContext(CollectorContext);
  if (!collector) throw new Error(`Cannot render island "${name}" outside renderDocument()`);
  const index = collector.islands.push({ name, props }) - 1;
  const marker = { "data-island": name, "data-index": String(index) };
  return h(ISLAND_TAG, marker, h(component, props)) as unknown as VNode;
}

/**
 * Serializes props so that the JSON can sit inside `<script type="application/json">`:
 * every `<` becomes `\u003c` (no `</script>` can end the block early), and U+2028/2029 are
 * escaped too.
 */
export function serializeProps(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/** What `renderDocument` needs besides the page. */
export interface DocumentOptions {
  /** CSP nonce for the scripts this page carries. */
  nonce: string;
  /** URL of the islands bundle; with no islands on the page no script is sent. */
  bundleUrl: string | null;
  /** Wraps the page in the HTML shell (routes/_app.tsx). */
  shell: (body: VNode, scripts: VNode | null) => VNode;
}

/**
 * Renders a page to a full HTML document. Islands used while rendering are collected; only if
 * there are any does the page get the JSON props block and the bundle's module script.
 */
export function renderDocument(page: VNode, options: DocumentOptions): string {
  const collector: IslandCollector = { islands: [] };
  const body = renderToString(h(CollectorContext.Provider, { value: collector }, page));
  const hasIslands = collector.islands.length > 0;
  if (hasIslands && !options.bundleUrl) {
    throw new Error("This page has islands but no bundle was built: run `deno task build`");
  }
  const scripts = hasIslands
    ? (
      <>
        <script
          type="application/json"
          id={ISLAND_DATA_ID}
          nonce={options.nonce}
          // deno-lint-ignore react-no-danger -- JSON with `<` escaped: it cannot end the script
          dangerouslySetInnerHTML={{ __html: serializeProps(collector.islands) }}
        />
        <script type="module" src={options.bundleUrl!} nonce={options.nonce} />
      </>
    )
    : null;
  const shell = options.shell(
    // deno-lint-ignore react-no-danger -- the page, already rendered (and escaped) above
    <div id="page" dangerouslySetInnerHTML={{ __html: body }} />,
    scripts,
  );
  return `<!DOCTYPE html>${renderToString(shell)}`;
}
