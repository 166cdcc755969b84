// What `tito export` tells a student besides "exported": an exercise whose test failed the last
// time the notebook ran it (the saved outputs say so: an export puts that code in the package
// all the same, and later modules build on it), and a compile error cited by its exercise and
// the line of the cell, not by a line of a generated package file the student never edits.
import type { ErrorOutput, Notebook } from "@tinytorch-ts/core/notebook";
import { gradeId, isSolutionCell, isTestCell } from "../transforms/cells";
import { NOT_IMPLEMENTED_MESSAGE } from "../transforms/strip-solutions";

export interface FailedTest {
  /** The exercise the test checks (the one right above it); none for a later test (testModule). */
  exercise?: string;
  test: string;
  /** The error's first line, as the notebook shows it. */
  why: string;
}

/** "TypeError: message" of a failed cell's saved outputs, or undefined if it did not fail. */
function savedFailure(cell: Notebook["cells"][number]): string | undefined {
  if (cell.cell_type !== "code" || cell.outputs.length === 0) return undefined;
  const error = cell.outputs.find((o): o is ErrorOutput => o.output_type === "error");
  if (error) return `${error.ename}: ${error.evalue}`.split("\n")[0];
  // tslab prints a failure on stderr (it sends no error output); a test that passed printed
  // its "✅ … passed" line last.
  const text = (name: string) =>
    cell.outputs.map((o) => (o.output_type === "stream" && o.name === name ? o.text : "")).join(""); // prettier-ignore
  const stderr = text("stderr");
  if (stderr.trim() === "" || /✅ .* passed/.test(text("stdout"))) return undefined;
  const header = stderr
    .split("\n")
    .find((l) => /^[\w$]*(?:Error|Failure|Exception)\b/.test(l) || /^\d+:\d+ - /.test(l));
  return (header ?? stderr.trim().split("\n")[0] ?? "").slice(0, 200);
}

/**
 * The tests that failed when the student's notebook last ran them, each with its exercise (a
 * test right after an exercise checks it). `stubs` are exercises not written yet: a failure that
 * is only their "Not implemented" says nothing new.
 */
export function failedTests(student: Notebook, stubs: readonly string[] = []): FailedTest[] {
  const out: FailedTest[] = [];
  let exercise: string | undefined;
  for (const cell of student.cells) {
    if (isSolutionCell(cell) && cell.cell_type === "code") exercise = gradeId(cell);
    if (!isTestCell(cell)) continue;
    const why = savedFailure(cell);
    const stub = why && NOT_IMPLEMENTED_MESSAGE.exec(why)?.[1];
    if (why !== undefined && !(stub && stubs.includes(stub))) {
      out.push({ ...(exercise ? { exercise } : {}), test: gradeId(cell) ?? cell.id, why });
    }
    exercise = undefined;
  }
  return out;
}

/** "// notebooks/02_beta.ipynb, cell 6 (exercise quadruple)": the comment above each cell's code. */
const ORIGIN = /^\/\/ (notebooks\/[\w.-]+\.ipynb)(?:, cell (\d+))?(?: \(exercise ([\w-]+)\))?/;
const DIAGNOSTIC = /^([^:]+\.ts):(\d+):(\d+): ([\s\S]*)$/;

/**
 * A compile error of the package ("src/core/beta.ts:12:5: message"; `read` gives the text that
 * was compiled for a package path) cited by where the code came from: the exercise and its line
 * in the student's notebook when it is one, the notebook's cell otherwise. Anything else is left
 * as it is, under tinytorch-ts/.
 */
export function citeCompileError(
  error: string,
  read: (file: string) => string | undefined,
  student: Notebook,
): string {
  const m = DIAGNOSTIC.exec(error);
  const text = m ? read(m[1]!) : undefined;
  if (!m || text === undefined) return `tinytorch-ts/${error}`;
  const lines = text.split("\n");
  const at = Number(m[2]) - 1;
  let origin: RegExpExecArray | null = null;
  for (let i = at; i >= 0 && !origin; i--) origin = ORIGIN.exec(lines[i] ?? "");
  if (!origin) return `tinytorch-ts/${error}`;
  const [, notebook, cellNumber, exercise] = origin;
  const message = m[4]!;
  if (!exercise) {
    const where = cellNumber ? `cell ${cellNumber} (provided code, which uses your code)` : "provided code"; // prettier-ignore
    return `${notebook}, ${where}: ${message}`;
  }
  // The line of the student's cell: the package line's text, found once in the cell.
  const wanted = (lines[at] ?? "").trim().replace(/^export\s+/, "");
  const cell = student.cells.find((c) => isSolutionCell(c) && gradeId(c) === exercise);
  const own = (cell?.source ?? "").split("\n").map((l) => l.trim().replace(/^export\s+/, ""));
  const found = wanted === "" ? [] : own.flatMap((l, i) => (l === wanted ? [i + 1] : []));
  const line = found.length === 1 ? `, line ${found[0]}` : "";
  return `${notebook}: exercise ${exercise}${line}: ${message}`;
}

/** Said after every export: a running kernel keeps the package it loaded until it restarts. */
export const RESTART_NOTE =
  "Notebooks already open keep the package they loaded: restart their kernel (Kernel > Restart) to use this export."; // prettier-ignore
