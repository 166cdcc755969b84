// A student's work merged into the released notebook (core/src/notebook/merge.ts): the rule tito
// test, tito export, tito status and the grader's reconstruction share, so what the student runs
// is what will be graded.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Cell, Notebook } from "../../core/src/notebook/types";
import { lastCopies, mergedSolutionSource, mergeStudentWork, studentCellsById } from "../../core/src/notebook/merge"; // prettier-ignore

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
  const work = studentCellsById(student);
  assert.is(work.last.get("double")?.source, "function double(x: number): number {\n  return 2 * x;\n}"); // prettier-ignore
  assert.equal(work.duplicated, ["double"]);
  assert.is(work.copies.get("double"), 3);
  const merged = mergeStudentWork(released, student);
  assert.equal(merged.duplicated, ["double"]);
  assert.match(merged.notebook.cells[0]?.source ?? "", /return 2 \* x;/);
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

test("what a cell is comes from the original: a student's flags and cell ids change nothing", () => {
  // The solution cell with its flags removed and a new cell id, the test cell marked as a
  // solution: the student's code still fills the exercise, and the test is still the original.
  const student = notebook([
    { ...cell("double", "function double(x: number): number {\n  return 2 * x;\n}"), id: "renamed" } as Cell, // prettier-ignore
    cell("test-double", "// mine now", { solution: true }),
  ]);
  const merged = mergeStudentWork(released, student);
  assert.match(merged.notebook.cells[0]?.source ?? "", /^\/\/\| export\nfunction double[^]*return 2 \* x;/); // prettier-ignore
  assert.is(merged.notebook.cells[1]?.source, released.cells[1]?.source);
  assert.equal(merged.edited, ["test-double"]);
});

test("a solution the student's notebook lacks keeps its stub and is reported missing", () => {
  const merged = mergeStudentWork(released, notebook([]));
  assert.is(merged.notebook.cells[0]?.source, released.cells[0]?.source);
  assert.equal(merged.missing, ["double"]);
  assert.equal(merged.edited, []);
});

test("mergedSolutionSource: the original's leading directives over the student's code", () => {
  assert.is(mergedSolutionSource("//| export\n//| hide\nstub();", "//| nope\ncode();\n//| later"), "//| export\n//| hide\ncode();\n//| later"); // prettier-ignore
  assert.is(mergedSolutionSource("stub();", "//| export\ncode();"), "code();");
  assert.is(mergedSolutionSource("//| export", ""), "//| export\n");
});

test("lastCopies works on any cell shape and skips cells without a grade_id", () => {
  const cells = [{ id: "a", n: 1 }, { n: 2 }, { id: "a", n: 3 }, { id: "b", n: 4 }];
  const r = lastCopies(cells, (c) => c.id);
  assert.equal(
    [...r.last.entries()].map(([k, v]) => [k, v.n]),
    [
      ["a", 3],
      ["b", 4],
    ],
  );
  assert.equal(r.duplicated, ["a"]);
});

test.run();
