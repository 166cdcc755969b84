// Kit support code: vega-lite charts rendered to SVG in Node with vega (v5, the last major
// that loads with `require`, which tslab uses), and sent to the notebook both as SVG and as the
// vega-lite v5 JSON mime type. Rendering is offline: no CDN, no browser.
import { writeFileSync } from "node:fs";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { displayBundle } from "./display";

export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";
export const VEGALITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** A vega-lite specification (kept loose: vega-lite's own types are very large). */
export type ChartSpec = Record<string, unknown>;

export interface RenderedChart {
  spec: ChartSpec;
  svg: string;
}

/** Adds the v5 schema, compiles vega-lite to vega, and renders it to an SVG string. */
export async function renderChart(spec: ChartSpec): Promise<RenderedChart> {
  const full: ChartSpec = { $schema: VEGALITE_SCHEMA, ...spec };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const compiled = vegaLite.compile(full as any).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return { spec: full, svg };
  } finally {
    view.finalize();
  }
}

/**
 * Renders a chart and shows it in the notebook as vega-lite JSON plus SVG (plus a text line
 * naming the chart for terminals). It returns nothing: `await showChart(…)` is often a cell's
 * last line, and tslab prints a last value that is not undefined, so a returned rendering would
 * print the whole SVG under the chart. `renderChart` gives the rendering without showing it.
 */
export async function showChart(spec: ChartSpec): Promise<void> {
  const rendered = await renderChart(spec);
  const title = typeof spec.title === "string" ? spec.title : "chart";
  displayBundle({
    [VEGALITE_MIME]: rendered.spec,
    "image/svg+xml": rendered.svg,
    "text/plain": `<vega-lite chart: ${title}>`,
  });
}

/** Writes the chart next to each other as `<base>.svg` and `<base>.vl.json`. */
export async function saveChart(spec: ChartSpec, basePath: string): Promise<RenderedChart> {
  const rendered = await renderChart(spec);
  writeFileSync(`${basePath}.svg`, rendered.svg);
  writeFileSync(`${basePath}.vl.json`, JSON.stringify(rendered.spec, null, 2) + "\n");
  return rendered;
}
