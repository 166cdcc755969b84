// Kit support code (hand-written, not generated from a module): how the package shows rich
// output. Inside a tslab kernel we send one display_data message carrying several mime types
// at once, so every front end picks the richest one it can render (JupyterLab and VS Code the
// vega-lite JSON, classic Notebook the SVG, a terminal the text). Outside tslab (plain Node,
// tests, scripts) nothing is displayed and callers still get the rendered value back. The end of
// the file is how a test failure reads in a notebook: the harness's stacks and call descriptions.

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

// ---------------------------------------------------------------------------------------------
// How a test failure reads in a notebook (used by the harness, support/testing)

/** Stack frames a student never needs: the harness's, Node's and tslab's (and tito test's). */
const NOISE_FRAME = /\((?:node:|[^)]*[\\/](?:tslab[\\/]|support[\\/](?:testing|checks|display)\.[jt]s|student[\\/]cell-frames\.cjs))|^\s+at (?:node:|<anonymous>)|\(<anonymous>\)$/; // prettier-ignore

/**
 * A failure's stack as a notebook should print it: its first line, then only the frames of the
 * notebook's code and the package. A frame of a Jupyter cell says so instead of showing a line
 * number, which would be one of tslab's compiled JavaScript, not of the cell (under `tito test`
 * cells have their own file names, which tito maps to the cell's lines itself).
 */
export function failureStack(header: string, stack: unknown): string {
  const frames = String(stack ?? "")
    .split("\n")
    .filter((l) => /^\s+at /.test(l) && !NOISE_FRAME.test(l))
    .map((l) =>
      l.replace(/^(\s+at .+?) \(evalmachine\.<anonymous>:\d+:\d+\)$/, "$1 (a notebook cell)"),
    ) // prettier-ignore
    .map((l) => l.replace(/^(\s+at )evalmachine\.<anonymous>:\d+:\d+$/, "$1a notebook cell"))
    .filter((l, i, all) => l !== all[i - 1]); // a cell's top level and tslab's call of it
  // A printed error needs a frame below its first line to be read back as one (tito run).
  if (frames.length === 0) frames.push("    at a notebook cell");
  return [header, ...frames].join("\n");
}

/**
 * The first named function of a stack outside the harness: the test a check belongs to (past
 * anonymous callbacks, but never into installed packages: a script's loader is no test).
 */
export function callerName(stack: unknown): string | undefined {
  for (const line of String(stack ?? "").split("\n")) {
    if (!/^\s+at /.test(line) || NOISE_FRAME.test(line)) continue;
    if (/[\\/]node_modules[\\/]/.test(line)) return undefined;
    const name = /^\s+at (?:async )?(?:Proxy\.|Object\.)?([\w$.]+) \(/.exec(line)?.[1];
    if (name) return name;
  }
  return undefined;
}

/** A function in one line, to name what a check called: its name, or its code (clipped). */
export function showCallable(fn: unknown): string {
  let text: string;
  try {
    text = String(Reflect.apply(Function.prototype.toString, fn, []));
  } catch {
    return "a function";
  }
  const name = typeof fn === "function" && typeof fn.name === "string" ? fn.name : "";
  if (name !== "" && !/^\s*(?:async\s*)?(?:\(|[\w$]+\s*=>)/.test(text)) return name;
  // tslab compiles a call of an earlier cell's `f` to `exports.f(…)` or `(0, exports.f)(…)`.
  const code = text
    .replace(/\(0, ([\w$.]+)\)/g, "$1")
    .replace(/(?<![\w$.])exports\./g, "")
    .replace(/\s+/g, " ")
    .trim();
  return code.length > 80 ? `${code.slice(0, 79)}…` : code;
}
