import { test } from "uvu";
import * as assert from "uvu/assert";
import { parsePercent } from "../../core/src/notebook/percent";
import { validateModule } from "../../core/src/notebook/validate";
import { MODULE_SOURCE, readFixture } from "./helpers";

function problems(src: string): string[] {
  return validateModule(parsePercent(src, "m.ts"), "m.ts").map((e) => e.message);
}

test("the reference module source is valid", () => {
  assert.equal(problems(MODULE_SOURCE), []);
});

test("duplicate grade_ids are reported at the second marker", () => {
  const src = MODULE_SOURCE.replace('"grade_id": "test-unit-relu"', '"grade_id": "relu"');
  const p = problems(src);
  assert.equal(p, ["m.ts:31: duplicate grade_id 'relu' (first used at line 21)"]);
});

test("grade cells need points; grade_ids must match the pattern", () => {
  const src = MODULE_SOURCE.replace('"points": 2, ', "").replace(
    '"grade_id": "relu"',
    '"grade_id": "re lu"',
  );
  const p = problems(src);
  assert.ok(
    p.some((m) => /m\.ts:21: grade_id 're lu' must match/.test(m)),
    p.join("\n"),
  );
  assert.ok(
    p.some((m) => /m\.ts:31: grade cell 'test-unit-relu' needs "points"/.test(m)),
    p.join("\n"),
  );
});

test("solution markers only in solution cells, hidden tests only in grade cells", () => {
  const src = MODULE_SOURCE.replace('"solution": true', '"solution": false').replace(
    '"grade": true, "grade_id": "test-unit-relu"',
    '"grade": false, "grade_id": "test-unit-relu"',
  );
  const p = problems(src);
  assert.ok(
    p.some((m) => m.startsWith("m.ts:25: BEGIN SOLUTION in a cell that is not a solution cell")),
    p.join("\n"),
  );
  assert.ok(
    p.some((m) => m.startsWith("m.ts:34: BEGIN HIDDEN TESTS in a cell that is not a grade cell")),
    p.join("\n"),
  );
});

test("unknown directives and a missing default_exp", () => {
  const src = MODULE_SOURCE.replace("//| default_exp core.activations", "//| exprot");
  const p = problems(src);
  assert.ok(
    p.some((m) => m.startsWith("m.ts:1: missing '//| default_exp")),
    p.join("\n"),
  );
  assert.ok(
    p.some((m) => m.startsWith("m.ts:19: unknown directive '//| exprot'")),
    p.join("\n"),
  );
});

test("non-canonical text is reported with the line a round trip would rewrite", () => {
  const p = problems(MODULE_SOURCE.replace("// Why this exists.", "//Why this exists."));
  assert.equal(p, [
    'm.ts:16: not in canonical percent form (a round trip through .ipynb would rewrite it): expected "// Why this exists.", found "//Why this exists."',
  ]);
});

test("an unclosed BEGIN SOLUTION is reported at its line", () => {
  assert.equal(problems(readFixture("bad/unbalanced.ts")), [
    "m.ts:6: BEGIN SOLUTION is never closed by END SOLUTION",
  ]);
});

test("solution and hidden-test regions may not nest", () => {
  const src = MODULE_SOURCE.replace(
    "    return Math.max(0, x);",
    "    // ### BEGIN HIDDEN TESTS\n    return Math.max(0, x);\n    // ### END HIDDEN TESTS",
  );
  const p = problems(src);
  assert.ok(
    p.some((m) => m.startsWith("m.ts:26: BEGIN HIDDEN TESTS in a cell that is not a grade cell")),
    p.join("\n"),
  );
  assert.ok(
    p.some((m) => m.startsWith("m.ts:26: solution and hidden-test regions must not nest")),
    p.join("\n"),
  );
});

test("directive rules: one default_exp, placement, hide and export restrictions", () => {
  const src = MODULE_SOURCE.replace(
    "function testUnitReLU(): void {",
    "//| export\n//| hide\nfunction testUnitReLU(): void {",
  ).replace(
    "// %%\n//| default_exp core.activations",
    "// %%\n//| default_exp core.activations\nconst z = 1;\n//| default_exp other",
  );
  const p = problems(src);
  for (const expected of [
    "a '//| directive must be on the first lines",
    "a grade (test) cell cannot be exported",
    "a solution or grade cell cannot be hidden",
  ]) {
    assert.ok(
      p.some((m) => m.includes(expected.replace("'//| directive", "'//|' directive"))),
      `${expected}\n${p.join("\n")}`,
    );
  }
});

test("nbgrader flags: locked solutions, unlocked tests, points on plain cells, schema_version", () => {
  const src = MODULE_SOURCE.replace(
    '"locked": false, "schema_version": 3, "solution": true',
    '"locked": true, "schema_version": 2, "solution": true',
  ).replace('"locked": true, "points": 2', '"locked": false, "points": 2');
  const p = problems(src);
  for (const expected of [
    "m.ts:21: a solution cell cannot be locked",
    "m.ts:21: nbgrader schema_version must be 3",
    "m.ts:31: a grade (test) cell must be locked",
  ]) {
    assert.ok(
      p.some((m) => m.startsWith(expected)),
      `${expected}\n${p.join("\n")}`,
    );
  }
});

test.run();
