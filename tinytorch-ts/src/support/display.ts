// Kit support code (hand-written, not generated from a module): how the package shows rich
// output. Inside a tslab kernel we send one display_data message carrying several mime types
// at once, so every front end picks the richest one it can render (JupyterLab and VS Code the
// vega-lite JSON, classic Notebook the SVG, a terminal the text). Outside tslab (plain Node,
// tests, scripts) nothing is displayed and callers still get the rendered value back.

type DisplayFn = (
  msg: { data: Record<string, unknown>; metadata: object; transient: object },
  update?: boolean,
) => void;

/** tslab's hook for display_data; null when not running inside a tslab kernel. */
function tslabDisplayHook(): DisplayFn | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: DisplayFn | null };
    return jupyter.lastWriteDisplayData ?? null;
  } catch {
    return null;
  }
}

/** True when this code runs inside a tslab kernel that can display rich output. */
export function inNotebook(): boolean {
  return tslabDisplayHook() !== null;
}

/** Where a display goes: a new output, or an update of an earlier one with the same id. */
export interface DisplayTarget {
  /** Names the output so that later calls can replace it (Jupyter's display_id). */
  displayId?: string;
  /** Replace the output shown earlier under `displayId` instead of adding one. */
  update?: boolean;
}

/**
 * Shows one output with several representations. `text/plain` is always included so that
 * every front end has something to show. Returns false when there is no notebook to show in.
 * With a `displayId`, a later call with `update: true` replaces this output in place (a progress
 * line that changes once per epoch instead of printing a line each time).
 */
export function displayBundle(data: Record<string, unknown>, target: DisplayTarget = {}): boolean {
  const hook = tslabDisplayHook();
  if (!hook) return false;
  const bundle = { "text/plain": "[rich output]", ...data };
  const transient = target.displayId === undefined ? {} : { display_id: target.displayId };
  hook({ data: bundle, metadata: {}, transient }, target.update === true);
  return true;
}

/** Shows an HTML fragment (for example a table) with a plain-text fallback. */
export function displayHtml(html: string, text: string): boolean {
  return displayBundle({ "text/html": html, "text/plain": text });
}
