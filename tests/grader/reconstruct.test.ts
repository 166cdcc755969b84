// Reconstruction and tamper detection, without a kernel: what runs is the manifest's notebook
// with only the student's solution cells, whatever the submission did to the rest.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { reconstruct } from "../../grader/src/reconstruct";
import { parseSubmission, type SubmittedCell } from "../../grader/src/submission";
import { GOOD, loadFixtureManifest, studentNotebook, type StudentEdits } from "./helpers";

const manifest = loadFixtureManifest();

function cellsOf(edits: StudentEdits = {}): SubmittedCell[] {
  const parsed = parseSubmission(studentNotebook(manifest, edits));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.cells;
}

function kinds(edits: StudentEdits): string[] {
  return reconstruct(manifest, cellsOf(edits)).tampering.map((t) => t.kind);
}

test("an untouched notebook reconstructs to the grading sources with stubs and no notes", () => {
  const r = reconstruct(manifest, cellsOf());
  assert.equal(r.tampering, []);
  assert.equal(r.cells.length, manifest.cells.length);
  const grade = r.cells.find((c) => c.gradeId === "test-unit-double");
  assert.ok(grade?.source.includes("secretInput"), "hidden tests restored");
  const sol = r.cells.find((c) => c.gradeId === "double");
  assert.is(sol?.origin, "student");
  assert.match(sol?.source ?? "", /Not implemented: double/);
});

test("solution cells come from the submission, matched by grade_id", () => {
  const r = reconstruct(manifest, cellsOf({ sources: GOOD }));
  assert.is(r.cells.find((c) => c.gradeId === "triple")?.source, GOOD.triple);
  assert.is(r.studentCells.find((c) => c.gradeId === "double")?.source, GOOD.double);
});

test("a solution keeps the released directive lines and drops the student's, as tito test does", () => {
  const m = structuredClone(manifest);
  const released = m.cells.find((c) => c.grade_id === "double");
  if (!released) throw new Error("the fixture has no double");
  released.studentSource = `//| export\n${released.studentSource}`;
  const mine = "function double(x: number): number {\n  return 2 * x;\n}";
  const r = reconstruct(m, cellsOf({ sources: { double: `//| hide\n${mine}` } }));
  assert.is(r.cells.find((c) => c.gradeId === "double")?.source, `//| export\n${mine}`);
});

test("an edited test cell is restored with its hidden tests and reported", () => {
  const edits = { sources: { "test-unit-double": 'passed("testUnitDouble");' } };
  const r = reconstruct(manifest, cellsOf(edits));
  const cell = r.cells.find((c) => c.gradeId === "test-unit-double");
  assert.ok(cell?.source.includes("assertEqual(double(secretInput)"));
  assert.equal(
    r.tampering.map((t) => [t.kind, t.cell]),
    [["edited-test-cell", "test-unit-double"]],
  );
});

test("deleted test and read-only cells are restored and reported as missing", () => {
  const r = reconstruct(manifest, cellsOf({ remove: ["test-unit-triple", "provided-input"] }));
  assert.ok(r.cells.some((c) => c.gradeId === "test-unit-triple"));
  assert.equal(r.tampering.map((t) => `${t.kind}:${t.cell}`).sort(), [
    "missing-cell:provided-input",
    "missing-cell:test-unit-triple",
  ]);
});

test("a missing solution cell becomes the stub", () => {
  const r = reconstruct(manifest, cellsOf({ remove: ["double"] }));
  const sol = r.cells.find((c) => c.gradeId === "double");
  assert.is(sol?.origin, "stub");
  assert.match(sol?.source ?? "", /Not implemented/);
  assert.ok(r.studentCells.find((c) => c.gradeId === "double")?.stub);
  assert.equal(kinds({ remove: ["double"] }), ["missing-solution"]);
});

test("a changed cell type is reported and the manifest type is used", () => {
  const r = reconstruct(manifest, cellsOf({ types: { double: "markdown" }, sources: GOOD }));
  assert.is(r.cells.find((c) => c.gradeId === "double")?.cellType, "code");
  assert.ok(r.tampering.some((t) => t.kind === "changed-cell-type" && t.cell === "double"));
});

test("duplicate grade_ids: reported, the last copy is used", () => {
  const dup = {
    id: "dup",
    cell_type: "code",
    metadata: { nbgrader: { grade_id: "double", solution: true } },
    source: "function double(x: number): number { return x + x; }",
    outputs: [],
    execution_count: null,
  };
  const r = reconstruct(manifest, cellsOf({ sources: GOOD, extra: [dup] }));
  assert.ok(r.tampering.some((t) => t.kind === "duplicate-grade-id" && t.cell === "double"));
  assert.is(r.cells.find((c) => c.gradeId === "double")?.source, dup.source);
});

test("changed grading metadata (checksum) is reported", () => {
  const nb = JSON.parse(studentNotebook(manifest));
  const cell = nb.cells.find(
    (c: { metadata: { nbgrader?: { grade_id?: string } } }) =>
      c.metadata.nbgrader?.grade_id === "test-unit-triple",
  );
  cell.metadata = { nbgrader: { ...cell.metadata.nbgrader, points: 100, checksum: "bogus" } };
  const parsed = parseSubmission(JSON.stringify(nb));
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  const r = reconstruct(manifest, parsed.cells);
  assert.equal(
    r.tampering.map((t) => `${t.kind}:${t.cell}`),
    ["checksum-mismatch:test-unit-triple"],
  );
  assert.is(r.cells.find((c) => c.gradeId === "test-unit-triple")?.points, 3);
});

/** The submission with `edit` applied to the nbgrader metadata of one cell. */
function withFlags(gradeId: string, edit: (nbgrader: Record<string, unknown>) => void) {
  const nb = JSON.parse(studentNotebook(manifest));
  const cell = nb.cells.find(
    (c: { metadata: { nbgrader?: { grade_id?: string } } }) =>
      c.metadata.nbgrader?.grade_id === gradeId,
  );
  const nbgrader = { ...cell.metadata.nbgrader };
  edit(nbgrader);
  cell.metadata = { ...cell.metadata, nbgrader };
  const parsed = parseSubmission(JSON.stringify(nb));
  if (!parsed.ok) throw new Error(parsed.reason);
  return reconstruct(manifest, parsed.cells).tampering.map((t) => `${t.kind}:${t.cell}`);
}

test("a locked cell edited in the source but with its checksum left unchanged is reported", () => {
  // The submitted cell still carries the released checksum; recomputing it from the cell's
  // source shows the edit.
  const edits = { sources: { "provided-input": "const input = 1000;" } };
  assert.equal(
    reconstruct(manifest, cellsOf(edits)).tampering.map((t) => `${t.kind}:${t.cell}`),
    ["edited-locked-cell:provided-input"],
  );
});

test("grading flags changed with the checksum left unchanged are reported (recomputed)", () => {
  assert.equal(
    withFlags("test-unit-triple", (f) => (f.points = 100)),
    ["checksum-mismatch:test-unit-triple"],
  );
  assert.equal(
    withFlags("provided-input", (f) => (f.locked = false)),
    ["checksum-mismatch:provided-input"],
  );
  assert.equal(
    withFlags("test-unit-double", (f) => (f.grade = false)),
    ["checksum-mismatch:test-unit-double"],
  );
  // Keys the checksum does not cover change nothing.
  assert.equal(
    withFlags("test-unit-double", (f) => (f.schema_version = 4)),
    [],
  );
});

test("reordered cells are graded in manifest order and reported", () => {
  const r = reconstruct(manifest, cellsOf({ reverse: true }));
  assert.equal(
    r.cells.map((c) => c.index),
    manifest.cells.map((c) => c.index),
  );
  assert.ok(r.tampering.some((t) => t.kind === "moved-cell"));
});

test("cells the student added are not run, and the feedback says so", () => {
  const extra = [{ id: "mine", cell_type: "code", metadata: {}, source: "const x = 1;" }];
  assert.equal(kinds({ extra }), ["added-cells"]);
  const r = reconstruct(manifest, cellsOf({ extra }));
  assert.not.ok(r.cells.some((c) => c.source === "const x = 1;"));
});

test("a notebook of another module is recognised", () => {
  const other = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      {
        id: "a",
        cell_type: "code",
        metadata: { nbgrader: { grade_id: "relu", solution: true } },
        source: "class ReLU {}",
      },
      {
        id: "b",
        cell_type: "code",
        metadata: { nbgrader: { grade_id: "test-unit-relu", grade: true } },
        source: "",
      },
    ],
  };
  const parsed = parseSubmission(JSON.stringify(other));
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  const r = reconstruct(manifest, parsed.cells);
  assert.ok(r.wrongModule);
  assert.match(r.wrongModule ?? "", /not module 90_fixture/);
});

test("an empty notebook reconstructs to all stubs with every cell reported missing", () => {
  const parsed = parseSubmission('{"nbformat":4,"nbformat_minor":5,"metadata":{},"cells":[]}');
  assert.ok(parsed.ok);
  if (!parsed.ok) return;
  const r = reconstruct(manifest, parsed.cells);
  assert.is(r.wrongModule, undefined);
  assert.ok(r.cells.filter((c) => c.role === "solution").every((c) => c.origin === "stub"));
  assert.is(r.tampering.filter((t) => t.kind === "missing-cell").length, 4);
});

test("parseSubmission rejects what is not an nbformat 4 notebook, with a reason", () => {
  const bad = (text: string) => {
    const p = parseSubmission(text);
    return p.ok ? "ok" : p.reason;
  };
  assert.match(bad("this is not json {"), /invalid JSON/);
  assert.match(bad(""), /empty/);
  assert.match(bad('{"nbformat": 3, "worksheets": []}'), /nbformat 3/);
  assert.match(bad("[1, 2]"), /not a Jupyter notebook/);
  assert.match(bad('{"nbformat": 4}'), /no cell list/);
  // Sources as lists of lines and CRLF line endings are read as Jupyter writes them.
  const p = parseSubmission(
    '{"nbformat":4,"cells":[{"cell_type":"code","source":["a\\r\\n","b"],"metadata":{}}]}',
  );
  assert.ok(p.ok && p.cells[0].source === "a\nb");
});

test.run();
