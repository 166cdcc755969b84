// Keeps hidden tests out of everything a student sees. Feedback shows, for each test, what it
// printed to stdout and a one-line reason when it failed; never stderr (Node prints the source
// line of a thrown error there) and never stack traces. Then every line that quotes a hidden
// line (as written in TypeScript, or as compiled JavaScript, which is what a function's
// toString() or an error excerpt shows) is replaced. What remains of a hidden test is its name
// and the failure messages the instructor wrote into its checks.
import ts from "typescript";
import type { GradingManifest } from "@tinytorch-ts/core";

export const REDACTED = "[line from a hidden test removed]";
/** Hidden lines shorter than this (after normalising) are too generic to match: `}`, `x++`. */
const MIN_FRAGMENT = 8;

/**
 * A line reduced to what survives compilation: whitespace, semicolons and quote styles are
 * ignored, and what TypeScript's CommonJS output adds (`(0, f)` calls, `exports.` and module
 * aliases like `tensor_1.`) is removed.
 */
export function normaliseCode(line: string): string {
  return line
    .replace(/\(0,\s*([\w$.]+)\)/g, "$1")
    .replace(/\bexports\./g, "")
    .replace(/\b[A-Za-z_$][\w$]*_\d+\./g, "")
    .replace(/['`]/g, '"')
    .replace(/[\s;]+/g, "");
}

function lines(text: string): string[] {
  return text.split("\n").map(normaliseCode);
}

function toJs(source: string): string {
  try {
    return ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS },
      reportDiagnostics: false,
    }).outputText;
  } catch {
    return "";
  }
}

/** Normalised lines that exist only in the hidden parts of grade cells. */
export function hiddenFragments(manifest: GradingManifest): string[] {
  const visible = new Set<string>();
  for (const c of manifest.cells) {
    for (const l of lines(c.studentSource)) visible.add(l);
    if (c.role === "grade" && c.cell_type === "code") {
      for (const l of lines(toJs(c.studentSource))) visible.add(l);
    }
  }
  const hidden = new Set<string>();
  for (const c of manifest.cells) {
    if (c.role !== "grade" || c.gradingSource === c.studentSource) continue;
    const candidates = [...lines(c.gradingSource)];
    if (c.cell_type === "code") candidates.push(...lines(toJs(c.gradingSource)));
    for (const l of candidates) {
      if (l.length >= MIN_FRAGMENT && !visible.has(l)) hidden.add(l);
    }
  }
  return [...hidden];
}

export function redact(text: string, fragments: string[]): string {
  if (fragments.length === 0 || text === "") return text;
  return text
    .split("\n")
    .map((line) => {
      const n = normaliseCode(line);
      return n.length > 0 && fragments.some((f) => n.includes(f)) ? REDACTED : line;
    })
    .join("\n");
}

export function clipText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}\n… (${text.length - maxChars} more characters not shown)`;
}
