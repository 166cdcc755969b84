// What a student reads when a check fails in a notebook (tinytorch-ts/support/testing): numbers
// as numbers, the test and the place of the failing check, what an assertThrows called, which
// exercise a demo waits for, and a stack without the harness's frames. The grader's records are
// not changed by any of it (tests/grader covers them); these run the harness as a notebook does.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { failureStack, showCallable } from "tinytorch-ts/support/display";
import {
  assert as check,
  assertEqual,
  assertThrows,
  demo,
  grading,
  passed,
  TestFailure,
} from "tinytorch-ts/support/testing";
import { packageStubMessage } from "../../tito/src/transforms/strip-solutions";

/** The failure a notebook would print for `fn`. */
function failureOf(fn: () => void): TestFailure {
  try {
    fn();
  } catch (e) {
    assert.instance(e, TestFailure);
    return e as TestFailure;
  }
  throw new Error("expected a failure");
}

test("assertEqual shows NaN and Infinity as numbers, not null", () => {
  const f = failureOf(() => assertEqual([NaN, Infinity, -Infinity], [0, 1, 2], "values"));
  assert.match(f.message, /values: expected \[0,1,2\], got \[NaN,Infinity,-Infinity\]/);
  assert.not.match(f.message, /null/);
});

test("a failure names its test function and the check's place in it, with its label", () => {
  function testModuleOfSomething(): void {
    assertEqual(1, 1, "first");
    check(true, "second");
    check(false, "third holds");
  }
  const f = failureOf(testModuleOfSomething);
  assert.is(f.message, "testModuleOfSomething, check 3: third holds");
  // The count starts again after a failure and after a test's success line.
  assert.match(failureOf(() => assertEqual(2, 3)).message, /check 1: expected 3, got 2$/);
  assertEqual(1, 1);
  const log = console.log;
  console.log = () => undefined; // passed() prints its success line
  try {
    passed("x");
  } finally {
    console.log = log;
  }
  assert.match(failureOf(() => assertEqual(2, 3)).message, /check 1: /);
});

test("assertThrows says what it called: the callback's code in one line, or a function's name", () => {
  const quiet = (x: number) => x;
  const arrow = failureOf(() => assertThrows(() => quiet(1)));
  assert.match(arrow.message, /assertThrows\(\(\) ?=> ?quiet\(1\)\): expected an error, but none was thrown$/); // prettier-ignore
  const spread = new Function("quiet", "return () => {\n  quiet(\n    1,\n  );\n}")(quiet);
  assert.is(showCallable(spread), "() => { quiet( 1, ); }");
  function makesNoError(): void {}
  assert.match(failureOf(() => assertThrows(makesNoError)).message, /assertThrows\(makesNoError\)/);
  // The test author's own words win.
  assert.match(failureOf(() => assertThrows(quiet as never, /x/, "a bad shape")).message, /a bad shape: expected an error/); // prettier-ignore
  // tslab's compiled calls of earlier cells read as the student wrote them; long code is clipped.
  assert.is(showCallable({ toString: null }), "a function");
  const compiled = new Function("exports", "return () => (0, exports.computeStrides)([-1])")({});
  assert.is(showCallable(compiled), "() => computeStrides([-1])");
  assert.ok(showCallable(() => "x".repeat(200) + "y".repeat(200)).length <= 80);
});

test("under the grader, records keep the author's words (no description is added)", () => {
  const records: unknown[] = [];
  grading.start({ seed: 1, emit: (m) => records.push(m) });
  try {
    grading.begin("t");
    assertThrows(() => 1);
    grading.end();
  } finally {
    grading.stop();
  }
  const sent = records[0] as { records: { checks: { context?: string }[] } };
  assert.is(sent.records.checks[0]?.context, undefined);
});

test("a failure's stack keeps the notebook's frames, not the harness's, tslab's or Node's", () => {
  const stack = [
    "TestFailure: x",
    "    at recordCheck (/w/tinytorch-ts/dist/support/testing.js:194:15)",
    "    at testUnitX (evalmachine.<anonymous>:4:33)",
    "    at evalmachine.<anonymous>:10:22",
    "    at Array.forEach (<anonymous>)",
    "    at computeStrides (tito-cell-4.js:10:26)",
    "    at Tensor.add (/w/tinytorch-ts/dist/core/tensor.js:12:3)",
    "    at sigintHandlersWrap (node:vm:280:12)",
    "    at Object.execute (/w/node_modules/tslab/dist/executor.js:160:38)",
  ].join("\n");
  assert.is(
    failureStack("TestFailure: x", stack),
    [
      "TestFailure: x",
      "    at testUnitX (a notebook cell)",
      "    at a notebook cell",
      "    at computeStrides (tito-cell-4.js:10:26)",
      "    at Tensor.add (/w/tinytorch-ts/dist/core/tensor.js:12:3)",
    ].join("\n"),
  );
  // Node's decoration (the harness's `throw` line) is not added to a TestFailure.
  const f = failureOf(() => assertEqual(1, 2));
  f.stack = "testing.js:194\n  throw\n  ^\n\n" + f.stack;
  assert.not.match(f.stack, /testing\.js|throw/);
  assert.match(f.stack, /^TestFailure: .*expected 2, got 1\n\s+at /);
});

test("a demo names the exercise it waits for, and a package stub's module and command", async () => {
  const printed: string[] = [];
  const log = console.log;
  console.log = (line: string) => printed.push(line);
  try {
    await demo("memory", () => {
      throw new Error("Not implemented: compute-strides");
    });
    await demo("layers", () => {
      throw new Error(packageStubMessage("linear", "Linear.constructor", "notebooks/03_layers.ipynb", "03")); // prettier-ignore
    });
  } finally {
    console.log = log;
  }
  assert.equal(printed, [
    "(memory: finish exercise compute-strides to see this demo)",
    "(layers: finish exercise linear in notebooks/03_layers.ipynb and run `npx tito export 03` to see this demo)", // prettier-ignore
  ]);
});

test.run();
