// What `tito test` tells a student, in the student's terms: a cell is named by its exercise
// (grade id and the heading the notebook shows above it), never by an index the student never
// sees in Jupyter; a compile error says its line within the cell; a failure that only follows
// from an earlier one says so; and a stub of an earlier module ("Not implemented: <id>" thrown
// from the student's package) says which module to export, and the command.
import type { Notebook } from "@tinytorch-ts/core/notebook";
import { gradeId, isGradeCell, isSolutionCell } from "../transforms/cells";
import { NOT_IMPLEMENTED_MESSAGE } from "../transforms/strip-solutions";
import type { CourseModuleEntry, ReleasedModule } from "./workspace";

/** tslab's compile errors: one "line:column - message" per line. */
const COMPILE_ERROR_LINE = /^(\d+):(\d+) - (.*)$/;
const MISSING_NAME = /Cannot find name '([\w$]+)'/;

/** The last heading shown above cell `index` ("Exercise 4: `erf` and `GELU.forward`"). */
export function headingAbove(nb: Notebook, index: number): string | undefined {
  for (let i = index - 1; i >= 0; i--) {
    const cell = nb.cells[i];
    if (cell?.cell_type !== "markdown") continue;
    const headings = [...cell.source.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)];
    const last = headings.at(-1)?.[1];
    if (last) return last;
  }
  return undefined;
}

/**
 * "exercise gelu (Exercise 4: `erf` and `GELU.forward`)", "test test-unit-gelu", ...; without
 * the heading (`short`) where a line already says which part of the notebook it is about.
 */
export function describeCell(nb: Notebook, index: number, short = false): string {
  const cell = nb.cells[index];
  const title = short ? undefined : headingAbove(nb, index);
  const under = title ? ` (under "${title}")` : "";
  if (cell && isSolutionCell(cell)) {
    return `exercise ${gradeId(cell) ?? "?"}${title ? ` (${title})` : ""}`;
  }
  if (cell && isGradeCell(cell)) return `test ${gradeId(cell) ?? "?"}${under}`;
  const source = cell?.source ?? "";
  const named = declaredNames(source)[0];
  if (named) return `the provided code of \`${named}\`${under}`;
  const first = source
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l !== "" && !/^(\/\/|\/\*|\*)/.test(l));
  const start = first ? `"${first.slice(0, 40)}${first.length > 40 ? "…" : ""}"` : "";
  return `the provided cell ${start}${under}`.replace(/\s+/g, " ").trim();
}

/**
 * "ename: evalue" made readable: a compile error becomes "line L: message" (its first one,
 * with a count of the others), anything else is kept as it is.
 */
export function readableProblem(ename: string, evalue: string): string {
  const lines = evalue.split("\n").filter((l) => l.trim() !== "");
  const compile = lines.map((l) => COMPILE_ERROR_LINE.exec(l.trim()));
  if (ename === "TSError" && compile.length > 0 && compile.every((m) => m !== null)) {
    const [first] = compile;
    const more = compile.length - 1;
    return `does not compile: line ${first![1]}: ${first![3]}${more > 0 ? ` (and ${more} more)` : ""}`;
  }
  return `${ename}: ${evalue}`;
}

/** The names a cell declares at its top level (functions, classes, constants). */
export function declaredNames(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(
    /^(?:export\s+)?(?:async\s+)?(?:function\*?|class|const|let|var|interface|type)\s+([\w$]+)/gm,
  )) {
    if (m[1]) names.push(m[1]);
  }
  return names;
}

/**
 * When a failure is only "Cannot find name 'X'" and X is declared by an exercise that itself
 * failed, the exercise that failed first: the student should fix that one.
 */
export function causedBy(
  problem: string,
  failedDeclarations: Map<string, string>,
): string | undefined {
  const name = MISSING_NAME.exec(problem)?.[1];
  return name === undefined ? undefined : failedDeclarations.get(name);
}

export interface UnexportedModule {
  module: string;
  number: string;
  /** A stub of that module met while running this notebook. */
  exercise: string;
}

/** Grade id of every exercise (solution cell) of the course -> the module that has it. */
export function exerciseOwners(
  modules: CourseModuleEntry[],
  read: (module: string) => ReleasedModule,
): Map<string, CourseModuleEntry> {
  const owners = new Map<string, CourseModuleEntry>();
  for (const entry of modules) {
    for (const cell of read(entry.module).studentNotebook.cells) {
      const id = isSolutionCell(cell) ? gradeId(cell) : undefined;
      if (id && !owners.has(id)) owners.set(id, entry);
    }
  }
  return owners;
}

/**
 * The earlier module whose stub `problem` comes from, when the stub is not one of the current
 * module's own exercises (those are the student's to write in this notebook).
 */
export function unexportedModule(
  problem: string,
  current: string,
  owners: Map<string, CourseModuleEntry>,
): UnexportedModule | undefined {
  const id = NOT_IMPLEMENTED_MESSAGE.exec(problem)?.[1];
  const owner = id === undefined ? undefined : owners.get(id);
  if (!owner || owner.module === current) return undefined;
  return { module: owner.module, number: owner.number, exercise: id! };
}

export function exportAdvice(m: UnexportedModule): string {
  return `module ${m.module} is not exported yet (your package still has its stub for ${m.exercise}): when its tests pass, run \`npx tito export ${m.number}\``;
}
