// A student's work merged into the released notebook (tito test and tito export): the same rules
// as the grader's reconstruction, so what the student runs is what will be graded.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Cell, Notebook } from "@tinytorch-ts/core/notebook";
import { mergeStudentWork, studentSolutions } from "../../tito/src/student/merge-solutions";

function cell(id: string, source: string, flags: Record<string, unknown> = {}): Cell {
  const nbgrader = { schema_version: 3, grade_id: id, ...flags };
  return { id, cell_type: "code", source, metadata: { nbgrader }, execution_count: null, outputs: [] } as Cell; // prettier-ignore
}

const notebook = (cells: Cell[]): Notebook => ({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }); // prettier-ignore

const released = notebook([
  cell("double", "//| export\nfunction double(x: number): number {\n  throw new Error(\"Not implemented: double\");\n}", { solution: true, grade: false, locked: false }), // prettier-ignore
  cell("test-double", "assertEqual(double(2), 4);", { grade: true, solution: false, locked: true, points: 1 }), // prettier-ignore
]);

test("a grade_id the notebook has twice: the last copy counts, as in the grader", () => {
  const student = notebook([
    cell("double", "function double(x: number): number {\n  return x + x + 1;\n}", { solution: true }), // prettier-ignore
    cell("double", "function double(x: number): number {\n  return 2 * x;\n}", { solution: true }), // prettier-ignore
    cell("double", "function double(x: number): number {\n  return 2 * x;\n}", { solution: true }), // prettier-ignore
  ]);
  const work = studentSolutions(student);
  assert.is(work.solutions.get("double"), "function double(x: number): number {\n  return 2 * x;\n}"); // prettier-ignore
  assert.equal(work.duplicated, ["double"]);
});

test("the original's directives are kept and the student's code replaces the rest", () => {
  const student = notebook([
    cell("double", "//| hide\nfunction double(x: number): number {\n  return 2 * x;\n}", { solution: true }), // prettier-ignore
    cell("test-double", "// edited\nassert(true);", { grade: true, locked: true }),
  ]);
  const merged = mergeStudentWork(released, student);
  assert.is(merged.notebook.cells[0]?.source, "//| export\nfunction double(x: number): number {\n  return 2 * x;\n}"); // prettier-ignore
  assert.is(merged.notebook.cells[1]?.source, released.cells[1]?.source, "the released test runs");
  assert.equal(merged.edited, ["test-double"]);
  assert.equal(merged.missing, []);
});

test.run();
