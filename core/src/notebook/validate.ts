// The module validator: every rule of docs/module-format.md that can be checked on a parsed
// source, reported as SourceErrors with file:line so an instructor can fix them all in one pass.
// It checks nbgrader metadata (nbgrader's own validity rules), region markers, directives, and
// that the source is in the canonical form that survives a .ts -> .ipynb -> .ts round trip.
import { SourceError } from "../errors";
import { findRegions, misplacedDirectiveLines, parseDirectives, type Region } from "./markers";
import { writePercent, type ParsedSource } from "./percent";
import { gradeId, isExerciseCell } from "./cell-roles";
import type { Cell } from "./types";

export const GRADE_ID_RE = /^[a-zA-Z0-9_-]+$/;
export const KNOWN_DIRECTIVES = [
  "default_exp",
  "export",
  "exporti",
  "hide",
  "extended_by",
  "mutation",
] as const;
const DOTTED_PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const NBGRADER_FLAGS = ["grade", "solution", "locked", "task"] as const;

/** Every problem found in a parsed module source (empty when it is valid). */
export function validateModule(parsed: ParsedSource, file: string): SourceError[] {
  const errors: SourceError[] = [];
  const add = (line: number | undefined, problem: string) =>
    errors.push(new SourceError(file, line, problem));
  const gradeIds = new Map<string, number>();
  const defaultExps: number[] = [];
  const mutations: Array<{ exercise: string; line: number }> = [];
  parsed.notebook.cells.forEach((cell, i) => {
    const markerLine = parsed.cellLines[i];
    const firstLine = parsed.sourceLines?.[i] ?? markerLine + 1;
    checkNbgrader(cell, markerLine, gradeIds, add);
    checkRegions(cell, file, firstLine, errors, add);
    checkDirectives(cell, firstLine, defaultExps, add, mutations);
  });
  const solutions = new Set(
    parsed.notebook.cells.flatMap((c) => (isExerciseCell(c) ? [gradeId(c) ?? ""] : [])), // prettier-ignore
  );
  for (const m of mutations) {
    if (!solutions.has(m.exercise)) add(m.line, `'//| mutation ${m.exercise}': no exercise (solution cell) has that grade_id`); // prettier-ignore
  }
  if (defaultExps.length === 0) {
    add(1, "missing '//| default_exp <dotted.path>' (every module names its package file once)");
  }
  for (const line of defaultExps.slice(1)) {
    add(
      line,
      `'//| default_exp' given again (first at line ${defaultExps[0]}); a module has exactly one`,
    );
  }
  if (typeof parsed.text === "string") errors.push(...checkCanonical(parsed, file));
  return errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

type Add = (line: number | undefined, problem: string) => void;

function checkNbgrader(cell: Cell, line: number, gradeIds: Map<string, number>, add: Add): void {
  const nb: unknown = cell.metadata.nbgrader;
  if (nb === undefined) return;
  if (typeof nb !== "object" || nb === null || Array.isArray(nb)) {
    add(line, "nbgrader metadata must be a JSON object");
    return;
  }
  const m = nb as Record<string, unknown>;
  for (const flag of NBGRADER_FLAGS) {
    if (m[flag] !== undefined && typeof m[flag] !== "boolean")
      add(line, `nbgrader '${flag}' must be true or false`);
  }
  if (m.schema_version !== 3) add(line, "nbgrader schema_version must be 3");
  const { grade, solution, locked, task } = m;
  if (!(grade || solution || locked || task)) return;
  const id = m.grade_id;
  if (typeof id !== "string" || id === "") add(line, "nbgrader cell has no grade_id");
  else if (!GRADE_ID_RE.test(id)) add(line, `grade_id '${id}' must match ^[a-zA-Z0-9_-]+$`);
  else if (gradeIds.has(id))
    add(line, `duplicate grade_id '${id}' (first used at line ${gradeIds.get(id)})`);
  else gradeIds.set(id, line);
  const points = m.points;
  if (grade || task) {
    if (typeof points !== "number" || !Number.isFinite(points) || points < 0) {
      add(line, `${task ? "task" : "grade"} cell '${String(id)}' needs "points": a number >= 0`);
    }
  } else if (points !== undefined) add(line, `"points" only belong on grade or task cells`);
  if (task && (grade || solution)) add(line, "a task cell cannot also be a grade or solution cell");
  if (task && cell.cell_type !== "markdown") add(line, "task cells must be markdown cells");
  if (cell.cell_type === "raw") add(line, "raw cells cannot be nbgrader cells");
  if (grade && !solution && locked !== true) add(line, "a grade (test) cell must be locked");
  if (solution && locked === true) add(line, "a solution cell cannot be locked");
}

function checkRegions(
  cell: Cell,
  file: string,
  firstLine: number,
  errors: SourceError[],
  add: Add,
): void {
  const nb = cell.metadata.nbgrader ?? {};
  const kindOf = cell.cell_type === "code" ? "code" : "markdown";
  const regions: Partial<Record<"solution" | "hidden", Region[]>> = {};
  for (const kind of ["solution", "hidden"] as const) {
    try {
      regions[kind] = findRegions(cell.source, kind, file, firstLine, kindOf);
    } catch (e) {
      if (e instanceof SourceError) errors.push(e);
      else throw e;
    }
  }
  const sol = regions.solution ?? [];
  const hid = regions.hidden ?? [];
  if (sol.length > 0 && nb.solution !== true) {
    add(
      firstLine + sol[0].begin,
      "BEGIN SOLUTION in a cell that is not a solution cell (nbgrader solution: true)",
    );
  }
  if (hid.length > 0 && nb.grade !== true) {
    add(
      firstLine + hid[0].begin,
      "BEGIN HIDDEN TESTS in a cell that is not a grade cell (nbgrader grade: true)",
    );
  }
  for (const s of sol) {
    for (const h of hid) {
      if (s.begin < h.end && h.begin < s.end) {
        add(
          firstLine + Math.max(s.begin, h.begin),
          "solution and hidden-test regions must not nest or overlap",
        );
      }
    }
  }
}

function checkDirectives(
  cell: Cell,
  firstLine: number,
  defaultExps: number[],
  add: Add,
  mutations: Array<{ exercise: string; line: number }>,
): void {
  const directives = parseDirectives(cell.source);
  if (cell.cell_type !== "code") {
    if (directives.length > 0) add(firstLine, "'//|' directives belong in code cells only");
    return;
  }
  const seen = new Set<string>();
  const nb = cell.metadata.nbgrader ?? {};
  for (const d of directives) {
    const line = firstLine + d.line;
    if (!(KNOWN_DIRECTIVES as readonly string[]).includes(d.name)) {
      add(line, `unknown directive '//| ${d.name}' (known: ${KNOWN_DIRECTIVES.join(", ")})`);
      continue;
    }
    if (seen.has(d.name)) add(line, `directive '//| ${d.name}' repeated in the same cell`);
    seen.add(d.name);
    if (d.name === "default_exp") {
      defaultExps.push(line);
      if (!d.arg || !DOTTED_PATH_RE.test(d.arg))
        add(line, "'//| default_exp' needs a dotted path, e.g. core.tensor");
    } else if (d.name === "extended_by") {
      if (!d.arg || !DOTTED_PATH_RE.test(d.arg))
        add(
          line,
          "'//| extended_by' needs the dotted path of a later module's file, e.g. core.autograd",
        );
      if (nb.grade) add(line, "a grade (test) cell cannot declare package extensions");
    } else if (d.name === "mutation") {
      // `//| mutation <exercise grade_id> <what is wrong>`: a plausible wrong answer to an
      // exercise, for the audit; it reaches no student and no package.
      const m = /^([a-zA-Z0-9_-]+)\s+\S/.exec(d.arg ?? "");
      if (!m)
        add(line, "'//| mutation' needs the exercise's grade_id and what is wrong, e.g. '//| mutation relu keeps negative inputs'"); // prettier-ignore
      else mutations.push({ exercise: m[1], line });
      if (nb.solution || nb.grade || nb.locked) add(line, "a mutation cell is a plain code cell (no nbgrader metadata)"); // prettier-ignore
      if (directives.length > 1) add(line, "a mutation cell has no other directive");
    } else if (d.name === "hide") {
      if (d.arg) add(line, "'//| hide' takes no argument");
      if (nb.solution || nb.grade)
        add(line, "a solution or grade cell cannot be hidden from students");
    } else {
      if (d.arg !== undefined && !DOTTED_PATH_RE.test(d.arg)) {
        add(line, `'//| ${d.name}' takes an optional dotted path, e.g. core.tensor`);
      }
      if (nb.grade) add(line, "a grade (test) cell cannot be exported to the package");
    }
  }
  if (seen.has("export") && seen.has("exporti"))
    add(firstLine, "a cell is either '//| export' or '//| exporti'");
  for (const j of misplacedDirectiveLines(cell.source)) {
    add(firstLine + j, "a '//|' directive must be on the first lines of its cell");
  }
}

/** The source must be exactly what the writer produces, or a round trip would rewrite it. */
export function checkCanonical(parsed: ParsedSource, file: string): SourceError[] {
  const text = parsed.text;
  if (text.startsWith("\uFEFF"))
    return [new SourceError(file, 1, "remove the byte order mark at the start of the file")];
  if (text.includes("\r\n")) {
    const line = text.slice(0, text.indexOf("\r\n")).split("\n").length;
    return [
      new SourceError(file, line, "use LF line endings, not CRLF (the round trip writes LF)"),
    ];
  }
  let expected: string;
  try {
    expected = writePercent(parsed.notebook, file);
  } catch (e) {
    if (e instanceof SourceError) return [e];
    throw e;
  }
  if (expected === text) return [];
  if (text !== "" && !text.endsWith("\n")) {
    return [new SourceError(file, text.split("\n").length, "the file must end with a newline")];
  }
  const a = text.split("\n");
  const b = expected.split("\n");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const found = i < a.length ? JSON.stringify(a[i]) : "end of file";
  const want = i < b.length ? JSON.stringify(b[i]) : "end of file";
  return [
    new SourceError(
      file,
      i + 1,
      `not in canonical percent form (a round trip through .ipynb would rewrite it): expected ${want}, found ${found}`,
    ),
  ];
}
