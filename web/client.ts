/// <reference lib="dom" />
/**
 * The browser half of the islands runtime: finds every island the server marked, reads its
 * props from the page's JSON block and hydrates the component in place. Nothing else on the
 * page runs JavaScript.
 */
import { type ComponentType, h, hydrate } from "preact";

const ISLAND_TAG = "doorman-island";
const ISLAND_DATA_ID = "__islands";

/** Hydrates every island on the page with the matching component of `islands`. */
export function boot(
  islands: Record<string, ComponentType<Record<string, unknown>>>,
  root: ParentNode = document,
): number {
  const block = root.querySelector(`#${ISLAND_DATA_ID}`);
  if (!block) return 0;
  const data = JSON.parse(block.textContent ?? "[]") as {
    name: string;
    props: Record<string, unknown>;
  }[];
  let hydrated = 0;
  for (const element of root.querySelectorAll<HTMLElement>(ISLAND_TAG)) {
    const entry = data[Number(element.dataset.index)];
    const component = entry ? islands[entry.name] : undefined;
    if (!component || entry.name !== element.dataset.island) {
      console.error(`Doorman: no island "${element.dataset.island}" in this bundle`);
      continue;
    }
    hydrate(h(component, entry.props), element);
    hydrated++;
  }
  return hydrated;
}
