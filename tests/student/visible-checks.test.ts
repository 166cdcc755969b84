// `tito test` runs the released tests, whose hidden checks are gone: a test left with no check
// at all (a prediction test, all hidden) is shown as checked only by the grader, never as PASS.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hasVisibleChecks } from "../../tito/src/student/student-test";

test("a test with an assertion or a check(...) has visible checks", () => {
  assert.ok(
    hasVisibleChecks('function t(): void {\n  assertEqual(f(2), 4);\n  passed("t");\n}\nt();'),
  );
  assert.ok(hasVisibleChecks('check("part", 1, () => assertShape(s, [2]));'));
  assert.ok(hasVisibleChecks("assert(x > 0);"));
});

test("a test whose checks were all hidden has none, whatever its comments say", () => {
  const released = [
    "function testUnitMatmulPredictions(): void {",
    "  // assertPrediction(...) runs in the grader",
    '  /* check("x", 1, () => assert(true)) */',
    '  passed("testUnitMatmulPredictions");',
    "}",
    "testUnitMatmulPredictions();",
  ].join("\n");
  assert.not.ok(hasVisibleChecks(released));
});

test.run();
