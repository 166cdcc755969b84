// test-tier: kernel
// The student commands against a real bundle and real tslab kernels: tito test runs the
// student's own code (a wrong answer fails although the reference is right), tito export puts
// the student's code (not the reference) into their package, tito status reports completion.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { releaseCourse } from "../../tito/src/release/release-course";
import { exportAdvice } from "../../tito/src/student/explain";
import { exportStudentNotebook } from "../../tito/src/student/student-export";
import { moduleStatuses } from "../../tito/src/student/student-status";
import { testStudentNotebook } from "../../tito/src/student/student-test";
import { makeFixtureRoot } from "../build/fixture-root";
import { artifactDir } from "../release/bundle-dir";

let ws = "";
let root = "";

interface RawNotebook {
  cells: {
    id: string;
    source: string[] | string;
    metadata: Record<string, unknown>;
    outputs?: unknown[];
  }[];
}

/** Edits the student's notebook like a student would: replace a cell's stub by some code. */
function solve(module: string, cellId: string, code: string): void {
  const path = join(ws, "notebooks", `${module}.ipynb`);
  const nb = JSON.parse(readFileSync(path, "utf8")) as RawNotebook;
  const cell = nb.cells.find((c) => c.id === cellId);
  assert.ok(cell, `no cell ${cellId}`);
  const src = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
  const stub = /\/\/ YOUR CODE HERE\n\s*throw new Error\("Not implemented: [\w-]+"\);/;
  const pristine = src.includes("YOUR CODE HERE") ? src : undefined;
  const base = pristine ?? originalCell(module, cellId);
  assert.match(base, stub);
  cell.source = base.replace(stub, code);
  writeFileSync(path, JSON.stringify(nb, null, 1) + "\n");
}

function originalCell(module: string, cellId: string): string {
  const released = JSON.parse(
    readFileSync(join(ws, ".tito/modules", `${module}.json`), "utf8"),
  ) as {
    studentNotebook: { cells: { id: string; source: string }[] };
  };
  return released.studentNotebook.cells.find((c) => c.id === cellId)?.source ?? "";
}

function result(report: Awaited<ReturnType<typeof testStudentNotebook>>, id: string) {
  const t = report.tests.find((x) => x.gradeId === id);
  assert.ok(t, `no test ${id}`);
  return t;
}

test.before(async () => {
  root = makeFixtureRoot();
  ws = join(artifactDir("student-"), "course");
  const r = await releaseCourse({ referenceAudit: "skip", root, outDir: ws });
  assert.ok(r.ok);
});

test.after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(join(ws, ".."), { recursive: true, force: true });
});

test("an untouched notebook fails every test with Not implemented", async () => {
  const report = await testStudentNotebook("01", { workspace: ws });
  assert.equal(report.errors, []);
  assert.is(report.tests.length, 2);
  assert.ok(report.tests.every((t) => !t.passed && /Not implemented/.test(t.problem ?? "")));
  assert.not.ok(report.ok);
});

test("a syntax error in an exercise is named by its exercise and its line, never a cell index", async () => {
  solve("01_alpha", "double", "return x +;");
  const report = await testStudentNotebook("01", { workspace: ws });
  const problems = report.otherProblems.join("\n");
  assert.match(problems, /^exercise double \(.+\): does not compile: line \d+: /m);
  assert.not.match(problems, /\bcell \d+/);
  // The test of that exercise fails because of it, and says which exercise to fix.
  assert.match(result(report, "test-double").problem ?? "", /fix exercise double/);
});

test("a runtime error in an exercise names the exercise and the line of its cell", async () => {
  solve(
    "01_alpha",
    "double",
    "const parts = null as unknown as number[];\n  return parts.length * x;",
  );
  const report = await testStudentNotebook("01", { workspace: ws });
  const t = result(report, "test-double");
  assert.match(t.problem ?? "", /^TypeError: Cannot read properties of null \(reading 'length'\) \(at exercise double, line 4\)$/); // prettier-ignore
  // Its stack: the exercise, then the test that called it, by their own lines; no tslab frames.
  assert.equal(t.trace?.slice(0, 2), ["at double (exercise double, line 4)", "at testUnitDouble (test test-double, line 2)"]); // prettier-ignore
  assert.not.match((t.trace ?? []).join("\n"), /tslab|node:|evalmachine|tito-cell/);
  // A failed check says which one, and its line in the test.
  solve("01_alpha", "double", "return x * 3;");
  const wrong = await testStudentNotebook("01", { workspace: ws });
  assert.is(
    result(wrong, "test-double").problem,
    "TestFailure: testUnitDouble, check 1: double(2): expected 4, got 6 (at line 2 of this test)",
  );
});

test("a module run before an earlier one is exported names that module and the command", async () => {
  solve("02_beta", "quadruple", "return double(double(x));");
  const report = await testStudentNotebook("02", { workspace: ws });
  assert.match(result(report, "test-quadruple").problem ?? "", /Not implemented: double.*01_alpha/);
  assert.equal(report.unexported, [{ module: "01_alpha", number: "01", exercise: "double" }]);
  assert.match(exportAdvice(report.unexported[0]!), /npx tito export 01/);
  // Module 01's own stubs are the student's to write in notebook 01: no export advice there.
  assert.equal((await testStudentNotebook("01", { workspace: ws })).unexported, []);
});

test("a wrong answer fails while the right one passes (the student's code is what runs)", async () => {
  solve("01_alpha", "double", "return x + x + 1;");
  solve("01_alpha", "scaled", "return Math.min(100, Math.max(-100, x * scaffoldGivenToStudents));");
  const wrong = await testStudentNotebook(join(ws, "notebooks/01_alpha.ipynb"));
  assert.not.ok(result(wrong, "test-double").passed);
  assert.match(result(wrong, "test-double").problem ?? "", /expected 4, got 5/);
  assert.ok(result(wrong, "test-scaled").passed);
  assert.is(wrong.points, 3);
  assert.not.ok(wrong.ok);
  // The same test with the reference's answer passes: the test is right, the student is not.
  solve("01_alpha", "double", "return x * 2;");
  const right = await testStudentNotebook("01_alpha", { workspace: ws });
  assert.ok(right.ok, JSON.stringify(right.tests));
  assert.is(right.points, 5);
});

test("an edited test cell is reported and the original test runs", async () => {
  solve("01_alpha", "double", "return x + x + 1;");
  const path = join(ws, "notebooks/01_alpha.ipynb");
  const nb = JSON.parse(readFileSync(path, "utf8")) as RawNotebook;
  const t = nb.cells.find((c) => c.id === "test-double");
  assert.ok(t);
  t.source = 'passed("testUnitDouble");';
  writeFileSync(path, JSON.stringify(nb));
  const report = await testStudentNotebook("01", { workspace: ws });
  assert.equal(report.edited, ["test-double"]);
  assert.not.ok(result(report, "test-double").passed);
});

test("export puts the student's code in their package; later modules use it", async () => {
  // Still the wrong double (x + x + 1) from above, now exported.
  const exported = await exportStudentNotebook(join(ws, "notebooks/01_alpha.ipynb"));
  assert.equal(exported.errors, []);
  assert.ok(exported.ok);
  const pkg = readFileSync(join(ws, "tinytorch-ts/src/core/alpha.ts"), "utf8");
  assert.ok(pkg.includes("return x + x + 1;"));
  assert.not.ok(pkg.includes("Not implemented: double"));
  assert.ok(
    readFileSync(join(ws, "tinytorch-ts/dist/core/alpha.js"), "utf8").includes("return x + x + 1;"),
  );
  // Module 02's quadruple is right, but builds on the student's wrong double: it fails.
  solve("02_beta", "quadruple", "return double(double(x));");
  const beta = await testStudentNotebook("02", { workspace: ws });
  assert.not.ok(result(beta, "test-quadruple").passed);
  assert.match(result(beta, "test-quadruple").problem ?? "", /expected 12, got 15/);
  // Fixing and re-exporting module 01 makes module 02 pass.
  solve("01_alpha", "double", "return 2 * x;");
  assert.ok((await exportStudentNotebook(join(ws, "notebooks/01_alpha.ipynb"))).ok);
  assert.ok((await testStudentNotebook("02", { workspace: ws })).ok);
});

test("export refuses code that does not compile and leaves the package as it was", async () => {
  const before = readFileSync(join(ws, "tinytorch-ts/src/core/beta.ts"), "utf8");
  const js = readFileSync(join(ws, "tinytorch-ts/dist/core/beta.js"), "utf8");
  solve("02_beta", "quadruple", "return double(double(x);");
  const syntax = await exportStudentNotebook(join(ws, "notebooks/02_beta.ipynb"));
  assert.not.ok(syntax.ok);
  assert.match(syntax.errors.join("\n"), /exercise quadruple/);
  solve("02_beta", "quadruple", 'return "four" * x;');
  const types = await exportStudentNotebook(join(ws, "notebooks/02_beta.ipynb"));
  assert.not.ok(types.ok);
  // Cited by the exercise and the line of its cell, not by the generated package file.
  assert.match(
    types.errors.join("\n"),
    /^notebooks\/02_beta\.ipynb: exercise quadruple, line 3: /m,
  );
  assert.not.match(types.errors.join("\n"), /beta\.ts/);
  assert.is(readFileSync(join(ws, "tinytorch-ts/src/core/beta.ts"), "utf8"), before);
  assert.is(readFileSync(join(ws, "tinytorch-ts/dist/core/beta.js"), "utf8"), js);
});

test("export warns when the notebook's last run of an exercise's test failed", async () => {
  solve("01_alpha", "double", "return x * 2;");
  const path = join(ws, "notebooks/01_alpha.ipynb");
  const nb = JSON.parse(readFileSync(path, "utf8")) as RawNotebook;
  const t = nb.cells.find((c) => c.id === "test-double");
  assert.ok(t);
  // What Jupyter saves for a failed tslab cell: the error on stderr, no error output.
  t.outputs = [{ output_type: "stream", name: "stderr", text: ["TestFailure: testUnitDouble, check 1: double(2): expected 4, got 5\n", "    at testUnitDouble (a notebook cell)\n"] }]; // prettier-ignore
  writeFileSync(path, JSON.stringify(nb));
  const exported = await exportStudentNotebook(path);
  assert.ok(exported.ok, exported.errors.join("\n"));
  assert.equal(exported.failedTests, [
    { exercise: "double", test: "test-double", why: "TestFailure: testUnitDouble, check 1: double(2): expected 4, got 5" }, // prettier-ignore
  ]);
});

test("status: complete once the tests pass on the current notebook and it is exported", async () => {
  solve("02_beta", "quadruple", "return double(x) + double(x);");
  let beta = moduleStatuses(ws).find((s) => s.module === "02_beta");
  assert.ok(beta?.lastTest && !beta.lastTest.current, "the notebook changed since the last test");
  assert.not.ok(beta?.complete);
  assert.ok((await testStudentNotebook("02", { workspace: ws })).ok);
  beta = moduleStatuses(ws).find((s) => s.module === "02_beta");
  assert.equal(beta?.unexported, ["quadruple"]);
  assert.not.ok(beta?.complete, "not exported yet");
  assert.ok((await exportStudentNotebook(join(ws, "notebooks/02_beta.ipynb"))).ok);
  beta = moduleStatuses(ws).find((s) => s.module === "02_beta");
  assert.ok(beta?.complete);
  const alpha = moduleStatuses(ws).find((s) => s.module === "01_alpha");
  assert.not.ok(alpha?.complete, "01 was last tested with a failing answer");
});

test.run();
