// Kit support code (hand-written, not generated from a module): how the package shows rich
// output. Inside a tslab kernel we send one display_data message carrying several mime types
// at once, so every front end picks the richest one it can render (JupyterLab and VS Code the
// vega-lite JSON, classic Notebook the SVG, a terminal the text). Outside tslab (plain Node,
// tests, scripts) nothing is displayed and callers still get the rendered value back.

type DisplayFn = (msg: {
  data: Record<string, unknown>;
  metadata: object;
  transient: object;
}) => void;

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

/**
 * Shows one output with several representations. `text/plain` is always included so that
 * every front end has something to show. Returns false when there is no notebook to show in.
 */
export function displayBundle(data: Record<string, unknown>): boolean {
  const hook = tslabDisplayHook();
  if (!hook) return false;
  const bundle = { "text/plain": "[rich output]", ...data };
  hook({ data: bundle, metadata: {}, transient: {} });
  return true;
}

/** Shows an HTML fragment (for example a table) with a plain-text fallback. */
export function displayHtml(html: string, text: string): boolean {
  return displayBundle({ "text/html": html, "text/plain": text });
}
