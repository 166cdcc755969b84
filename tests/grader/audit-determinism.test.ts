// The audit's determinism check, which reuses runs it makes anyway: the full run (demos
// included) is the second run on the first seed, and a graded run is made again only when the
// two differ. A check that measures something is still caught; a demo that changes what a test
// records (a side effect, not nondeterminism) is not mistaken for one.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { GradingManifest, ManifestCell } from "@tinytorch-ts/core";
import { auditReference, demoCellProblems, gradedView } from "../../grader/src/audit";
import type { ReferenceRecords } from "../../grader/src/reference-run";
import { loadFixtureManifest } from "./helpers";

const DIFFERS = /differs between two runs on the same seed/;

/** The fixture with test-unit-double's hidden checks replaced, and cells inserted after the imports. */
function fixtureWith(hiddenDouble: string, inserted: ManifestCell[] = []): GradingManifest {
  const m = loadFixtureManifest();
  const cells = m.cells.map((c): ManifestCell => {
    if (c.id === "imports") {
      const src = 'import { assert, assertEqual, demo, passed, testRandom } from "tinytorch-ts/support/testing";'; // prettier-ignore
      return { ...c, studentSource: src, gradingSource: src };
    }
    if (c.grade_id !== "test-unit-double") return c;
    const hidden = `  // ### BEGIN HIDDEN TESTS\n${hiddenDouble}\n  // ### END HIDDEN TESTS\n`;
    return { ...c, gradingSource: c.gradingSource.replace(/ {2}\/\/ ### BEGIN HIDDEN TESTS[\s\S]*\/\/ ### END HIDDEN TESTS\n/, hidden) }; // prettier-ignore
  });
  const at = cells.findIndex((c) => c.id === "imports") + 1;
  cells.splice(at, 0, ...inserted);
  return { ...m, cells: cells.map((c, index) => ({ ...c, index })) };
}

const demoCell = (source: string): ManifestCell => ({
  index: -1,
  id: "demo-side-effect",
  cell_type: "code",
  role: "plain",
  studentSource: source,
  gradingSource: source,
  metadata: {},
});

test("a check that measures something differs between two runs on the same seed", async () => {
  const problems = await auditReference(
    fixtureWith(
      '  const x = testRandom("double").uniform(-100, 100);\n  const noise = Math.random();\n  assertEqual(double(x) + noise, 2 * x + noise, "double, plus noise");', // prettier-ignore
    ),
  );
  assert.ok(
    problems.some((p) => DIFFERS.test(p)),
    problems.join("\n"),
  );
});

test("a demo that changes what a test records is a side effect, not nondeterminism", async () => {
  const problems = await auditReference(
    fixtureWith(
      '  const x = testRandom("double").uniform(-100, 100);\n  const offset = (globalThis as unknown as { demoOffset?: number }).demoOffset ?? 0;\n  assertEqual(double(x) + offset, 2 * x + offset, "double, shifted by what a demo left");', // prettier-ignore
      [demoCell('await demo("leaves a global behind", () => {\n  (globalThis as unknown as { demoOffset?: number }).demoOffset = 1;\n});')], // prettier-ignore
    ),
  );
  assert.equal(problems, []);
});

test("gradedView drops the expected values, and only them", () => {
  const run: ReferenceRecords = {
    records: new Map([
      ["t", { test: "t", checks: [{ kind: "equal", actual: 2, expected: 2, context: "c", hidden: true }] }], // prettier-ignore
    ]),
    failed: [],
    branches: new Map(),
  };
  const view = gradedView(run);
  assert.equal(view.records.get("t")?.checks, [{ kind: "equal", actual: 2, context: "c", hidden: true }]); // prettier-ignore
  assert.equal(run.records.get("t")?.checks[0].expected, 2, "the run itself is left as it was");
});

test("a demo beside a declaration is a problem of the audit, named by the cell's first line", () => {
  const cell = (index: number, role: ManifestCell["role"], source: string) =>
    ({ index, id: `c${index}`, cell_type: "code", role, studentSource: source, gradingSource: source, metadata: {} }) as unknown as ManifestCell; // prettier-ignore
  const manifest = {
    sourceFile: "modules/77_x/x_dev.ts",
    cells: [
      cell(0, "plain", 'await demo("alone", f);'),
      cell(1, "plain", 'const results = {};\nawait demo("fills results", f);'),
      cell(2, "solution", 'export function f() {}\ndemo("in a solution: the student cell", f);'),
    ],
  } as unknown as GradingManifest;
  assert.equal(demoCellProblems(manifest), [
    'modules/77_x/x_dev.ts: the cell starting "const results = {};" calls demo(…) beside other code, so every graded kernel runs the demo; give the demo a cell of its own',
  ]);
});

test.run();
