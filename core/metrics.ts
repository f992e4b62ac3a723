/** In-process counters for `GET /metrics` (Prometheus text format 0.0.4). */
export class Metrics {
  readonly #counters = new Map<string, { help: string; values: Map<string, number> }>();

  /** Adds `by` to counter `name` with these labels. */
  inc(name: string, help: string, labels: Record<string, string> = {}, by = 1): void {
    let counter = this.#counters.get(name);
    if (!counter) this.#counters.set(name, counter = { help, values: new Map() });
    const key = formatLabels(labels);
    counter.values.set(key, (counter.values.get(key) ?? 0) + by);
  }

  /** Every counter, then the gauges given, in the exposition format. */
  render(
    gauges: { name: string; help: string; values: [Record<string, string>, number][] }[],
  ): string {
    const out: string[] = [];
    for (const [name, counter] of this.#counters) {
      out.push(`# HELP ${name} ${counter.help}`, `# TYPE ${name} counter`);
      for (const [labels, value] of counter.values) out.push(`${name}${labels} ${value}`);
    }
    for (const gauge of gauges) {
      out.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
      for (const [labels, value] of gauge.values) {
        out.push(`${gauge.name}${formatLabels(labels)} ${value}`);
      }
    }
    return `${out.join("\n")}\n`;
  }
}

function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([key, value]) =>
    `${key}="${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}
