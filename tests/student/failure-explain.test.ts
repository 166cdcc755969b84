// How tito's student commands explain a failure, without a kernel: a runtime error traced back
// to its exercise and the line of its cell (from the scripts a real tslab kernel ran, kept here
// as it wrote them), a compile error of `tito export` cited by its exercise, a test that failed
// in the saved notebook, a package stub that names its notebook and command, `tito status` for
// an untouched module, and what a milestone needs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Cell, Notebook, Output } from "@tinytorch-ts/core/notebook";
import { citeCompileError, failedTests } from "../../tito/src/student/export-notes";
import { CellTracer } from "../../tito/src/student/failure-trace";
import { milestoneNeeds } from "../../tito/src/student/milestone-needs";
import { cellLine, parseFrames, scriptCells } from "../../tito/src/student/stack-map";
import { renderStatus, type ModuleStatus } from "../../tito/src/student/student-status";
import {
  explainPackageStubs,
  packageStubHint,
  stubMessageCore,
} from "../../tito/src/transforms/strip-solutions";

// A cell and its test as module 01 has them, with a bug on line 8 of the exercise, and the
// JavaScript tslab 1.0.22 ran for each (cell-frames.cjs wrote them so).
const EXERCISE = `//| export
/** Row-major strides, counted in elements: computeStrides([2, 3, 4]) is [12, 4, 1]. */
function computeStrides(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides.unshift(acc);
    acc *= (shape as unknown as { dims: number[] }).dims[i];
  }
  return strides;
}`;
const EXERCISE_JS = `(function(exports, require) { Object.defineProperty(exports, "__esModule", { value: true });
exports.computeStrides = void 0;
//| export
/** Row-major strides, counted in elements: computeStrides([2, 3, 4]) is [12, 4, 1]. */
function computeStrides(shape) {
    const strides = [];
    let acc = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
        strides.unshift(acc);
        acc *= shape.dims[i];
    }
    return strides;
}
exports.computeStrides = computeStrides;

})(__tslab__.exports, __tslab__.require)`;
const TEST = `function testUnitComputeStrides(): void {
  assertEqual(computeStrides([2, 3]), [3, 1], "strides of [2, 3]");
  assertEqual(computeStrides([2, 3, 4]), [12, 4, 1], "strides of [2, 3, 4]");
  assertEqual(computeStrides([5]), [1], "strides of a vector");
  passed("testUnitComputeStrides");
}
testUnitComputeStrides();`;
const TEST_JS = `(function(exports, require) { Object.defineProperty(exports, "__esModule", { value: true });
exports.testUnitComputeStrides = exports.tsLastExpr = void 0;
function testUnitComputeStrides() {
    exports.assertEqual(exports.computeStrides([2, 3]), [3, 1], "strides of [2, 3]");
    exports.assertEqual(exports.computeStrides([2, 3, 4]), [12, 4, 1], "strides of [2, 3, 4]");
    exports.assertEqual(exports.computeStrides([5]), [1], "strides of a vector");
    exports.passed("testUnitComputeStrides");
}
exports.testUnitComputeStrides = testUnitComputeStrides;
exports.tsLastExpr = testUnitComputeStrides();

})(__tslab__.exports, __tslab__.require)`;
const STDERR = `tito-cell-4.js:10
        acc *= shape.dims[i];
                         ^

TypeError: Cannot read properties of undefined (reading '1')
    at Proxy.computeStrides (tito-cell-4.js:10:26)
    at testUnitComputeStrides (tito-cell-6.js:4:33)
    at tito-cell-6.js:10:22
    at tito-cell-6.js:12:3
    at sigintHandlersWrap (node:vm:280:12)
    at Script.runInThisContext (node:vm:135:14)
    at vm.runInThisContext (/w/tito/src/student/cell-frames.cjs:34:29)
    at Object.execute (/w/node_modules/tslab/dist/executor.js:160:38)`;

function code(
  source: string,
  nbgrader?: Cell["metadata"]["nbgrader"],
  outputs: Output[] = [],
): Cell {
  return { id: `c${Math.random().toString(36).slice(2, 8)}`, cell_type: "code", source, metadata: nbgrader ? { nbgrader } : {}, execution_count: null, outputs }; // prettier-ignore
}
const notebook = (cells: Cell[]): Notebook => ({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }); // prettier-ignore
const exercise = (id: string, source: string) => code(source, { solution: true, grade: false, grade_id: id }); // prettier-ignore
const testCell = (id: string, source: string, outputs: Output[] = []) => code(source, { grade: true, solution: false, grade_id: id, points: 1 }, outputs); // prettier-ignore

test("a frame of tslab's JavaScript maps to the line of the cell it came from", () => {
  const ex = { src: EXERCISE, js: EXERCISE_JS };
  const t = { src: TEST, js: TEST_JS };
  assert.is(cellLine(ex, 10, 26), 8, "acc *= …dims[i] is line 8 of the exercise");
  assert.is(cellLine(t, 4, 33), 2, "the first check");
  assert.is(cellLine(t, 10, 22), 7, "the cell's last line, whose value tslab keeps");
  assert.is(cellLine(t, 12, 3), undefined, "tslab's own wrapper is no line of the cell");
  const frames = parseFrames(STDERR);
  assert.equal(frames[0], { fn: "computeStrides", file: "tito-cell-4.js", line: 10, column: 26 });
  assert.is(frames[2]?.fn, undefined);
});

test("scripts are matched to cells in order, by their source", () => {
  const scripts = new Map([
    [1, { src: "a", js: "" }],
    [2, { src: "b", js: "" }],
    [3, { src: "a", js: "" }],
  ]);
  assert.equal(
    [...scriptCells(scripts, ["", "a", "b", "x", "a"])],
    [
      [1, 1],
      [2, 2],
      [3, 4],
    ],
  );
});

test("a trace names the exercise and its line, then the test, without tslab's frames", () => {
  const dir = mkdtempSync(join(tmpdir(), "tito-trace-"));
  try {
    writeFileSync(join(dir, "4.json"), JSON.stringify({ src: EXERCISE, js: EXERCISE_JS }));
    writeFileSync(join(dir, "6.json"), JSON.stringify({ src: TEST, js: TEST_JS }));
    const nb = notebook([
      code("import { assertEqual } from 'x';"),
      exercise("compute-strides", EXERCISE),
      testCell("test-unit-compute-strides", TEST),
    ]);
    const trace = new CellTracer(dir, nb, "/w").trace(STDERR);
    assert.equal(trace.at, { cell: 1, line: 8, text: "exercise compute-strides, line 8" });
    assert.equal(trace.frames, [
      "at computeStrides (exercise compute-strides, line 8)",
      "at testUnitComputeStrides (test test-unit-compute-strides, line 2)",
      "at test test-unit-compute-strides, line 7",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tito export: a test that failed in the saved notebook is named with its exercise", () => {
  const stderr = (text: string): Output[] => [{ output_type: "stream", name: "stderr", text }];
  const failed = stderr("TestFailure: testUnitDouble, check 1: double(2): expected 4, got 5\n    at testUnitDouble (a notebook cell)\n"); // prettier-ignore
  const passing: Output[] = [{ output_type: "stream", name: "stdout", text: "✅ testUnitScaler passed\n" }]; // prettier-ignore
  const nb = notebook([
    exercise("double", "function double(x: number) { return x + x + 1; }"),
    testCell("test-double", "testUnitDouble();", failed),
    exercise("scaled", "class Scaler {}"),
    testCell("test-scaled", "testUnitScaler();", passing),
    exercise("never-run", "const y = 1;"),
    testCell("test-never-run", "t();"),
    exercise("todo", "// YOUR CODE HERE"),
    testCell("test-todo", "t();", stderr("evalmachine.<anonymous>:7\n\nError: Not implemented: todo\n    at x (y:1:1)\n")), // prettier-ignore
    testCell("test-module", "testModule();", stderr("TypeError: boom\n    at testModule (a notebook cell)\n")), // prettier-ignore
  ]);
  assert.equal(failedTests(nb, ["todo"]), [
    { exercise: "double", test: "test-double", why: "TestFailure: testUnitDouble, check 1: double(2): expected 4, got 5" }, // prettier-ignore
    { test: "test-module", why: "TypeError: boom" },
  ]);
});

test("tito export: a compile error is cited by its exercise and the line of its cell", () => {
  const file = [
    "// AUTOGENERATED by `tito export` from notebooks/02_beta.ipynb. Do not edit this file:",
    'import { double } from "./alpha";',
    "",
    "// notebooks/02_beta.ipynb, cell 6 (exercise quadruple)",
    "export function quadruple(x: number): number {",
    '  return "four" * x;',
    "}",
    "// notebooks/02_beta.ipynb, cell 8",
    "export const four = quadruple(1);",
  ].join("\n");
  const student = notebook([
    exercise(
      "quadruple",
      '//| export\nfunction quadruple(x: number): number {\n  return "four" * x;\n}',
    ),
  ]);
  const read = (f: string) => (f === "src/core/beta.ts" ? file : undefined);
  assert.is(
    citeCompileError("src/core/beta.ts:6:10: The left-hand side must be a number.", read, student),
    "notebooks/02_beta.ipynb: exercise quadruple, line 3: The left-hand side must be a number.",
  );
  assert.is(
    citeCompileError("src/core/beta.ts:9:1: No.", read, student),
    "notebooks/02_beta.ipynb, cell 8 (provided code, which uses your code): No.",
  );
  assert.is(citeCompileError("tsconfig.json: bad", read, student), "tinytorch-ts/tsconfig.json: bad"); // prettier-ignore
});

test("a compiled package stub names its notebook and the export command; tools still read its id", () => {
  const js = [
    "// AUTOGENERATED by `tito export` from notebooks/02_activations.ipynb. Do not edit this file:",
    'throw new Error("Not implemented: relu");',
    'throw new Error("Not implemented: gelu (GELU.forward)");',
  ].join("\n");
  const out = explainPackageStubs(js);
  const message = JSON.parse(/throw new Error\((".*")\);\nthrow/.exec(out)![1]!) as string;
  assert.is(message, "Not implemented: relu. It is an exercise of notebooks/02_activations.ipynb: finish it there, then run `npx tito export 02` to put it in your package"); // prettier-ignore
  assert.match(out, /Not implemented: gelu \(GELU\.forward\)\. It is an exercise/);
  assert.is(stubMessageCore(`Error: ${message}`), "Error: Not implemented: relu");
  assert.equal(packageStubHint(message), { notebook: "notebooks/02_activations.ipynb", number: "02" }); // prettier-ignore
  // A file of the kit's reference package (no student notice) is left alone.
  assert.is(explainPackageStubs('throw new Error("Not implemented: relu");'), 'throw new Error("Not implemented: relu");'); // prettier-ignore
});

test("tito status: a module with nothing written is not started", () => {
  const row = (attempted: number): ModuleStatus => ({ module: "01_tensor", notebookExists: true, exercises: 10, attempted, unexported: ["a"], complete: false }); // prettier-ignore
  assert.match(renderStatus([row(0)]), /not started/);
  assert.match(renderStatus([row(3)]), /in progress/);
});

test("a milestone's modules: declared, or read from what its imports load", () => {
  const dir = mkdtempSync(join(tmpdir(), "tito-needs-"));
  try {
    const src = join(dir, "src");
    mkdirSync(join(src, "core"), { recursive: true });
    writeFileSync(join(src, "core", "tensor.ts"), "export class Tensor {}\n");
    writeFileSync(join(src, "core", "layers.ts"), 'import { Tensor } from "./tensor";\n');
    writeFileSync(join(src, "training.ts"), 'import { Linear } from "./core/layers";\nimport type { X } from "./perf";\n'); // prettier-ignore
    writeFileSync(join(dir, "02_x.ts"), 'import { fit } from "tinytorch-ts/training";\nimport { y } from "./helper";\n'); // prettier-ignore
    writeFileSync(join(dir, "helper.ts"), 'import type { Tensor } from "tinytorch-ts/core/tensor";\n'); // prettier-ignore
    const course = {
      schema: 1 as const,
      tier: "default",
      modules: [
        "01_tensor:core/tensor",
        "03_layers:core/layers",
        "08_training:training",
        "14_perf:perf",
      ].map((s) => {
        // prettier-ignore
        const [module, target] = s.split(":") as [string, string];
        return { number: module.slice(0, 2), module, notebook: `notebooks/${module}.ipynb`, targets: [target] }; // prettier-ignore
      }),
    };
    const names = (declared?: string[]) => milestoneNeeds(join(dir, "02_x.ts"), declared, course, src).map((m) => m.module); // prettier-ignore
    // training loads layers, which loads tensor; type-only imports load nothing.
    assert.equal(names(), ["01_tensor", "03_layers", "08_training"]);
    assert.equal(names(["08_training", "01_tensor"]), ["01_tensor", "08_training"], "course order");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
