import { test } from "uvu";
import * as assert from "uvu/assert";
import { clearHiddenTests } from "../../tito/src/transforms/clear-hidden-tests";
import { code, grade, notebook, snapshot, solution } from "./make-notebook";

test("hidden-test regions (markers included) leave grade cells", () => {
  const src = [
    "function testX(): void {",
    "  assertEqual(f(1), 2);",
    "  // ### BEGIN HIDDEN TESTS",
    "  assertEqual(f(-5), -10);",
    "  // ### END HIDDEN TESTS",
    '  passed("testX");',
    "}",
  ].join("\n");
  const nb = notebook([code(src, grade("test-x", 2))]);
  const before = snapshot(nb);
  const out = clearHiddenTests(nb);
  assert.is(
    out.cells[0]?.source,
    'function testX(): void {\n  assertEqual(f(1), 2);\n  passed("testX");\n}',
  );
  assert.is(snapshot(nb), before, "input notebook was mutated");
});

test("other cells are untouched", () => {
  const nb = notebook([code("x", solution("s")), code("plain()")]);
  assert.equal(clearHiddenTests(nb).cells, nb.cells);
});

test.run();
