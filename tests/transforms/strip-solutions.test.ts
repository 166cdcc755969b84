import { test } from "uvu";
import * as assert from "uvu/assert";
import { stripSolutions } from "../../tito/src/transforms/strip-solutions";
import { code, grade, markdown, notebook, snapshot, solution } from "./make-notebook";

const SRC = [
  "//| export",
  "class Scaler {",
  "  apply(x: number): number {",
  "    // ### BEGIN SOLUTION",
  "    const secretStep = x * 3;",
  "    return secretStep;",
  "    // ### END SOLUTION",
  "  }",
  "}",
].join("\n");

test("a solution region becomes a stub at its indentation, naming the grade_id", () => {
  const nb = notebook([code(SRC, solution("scaler"))]);
  const before = snapshot(nb);
  const out = stripSolutions("default")(nb);
  assert.is(
    out.cells[0]?.source,
    [
      "//| export",
      "class Scaler {",
      "  apply(x: number): number {",
      "    // YOUR CODE HERE",
      '    throw new Error("Not implemented: scaler");',
      "  }",
      "}",
    ].join("\n"),
  );
  assert.is(snapshot(nb), before, "input notebook was mutated");
});

test("several regions in one cell each get a stub; text between them stays", () => {
  const src = [
    "function a() {",
    "  // ### BEGIN SOLUTION",
    "  return 1;",
    "  // ### END SOLUTION",
    "}",
    "function b() {",
    "\t// ### BEGIN SOLUTION",
    "\treturn 2;",
    "\t// ### END SOLUTION",
    "}",
  ].join("\n");
  const out = stripSolutions()(notebook([code(src, solution("ab"))]));
  const s = out.cells[0]?.source ?? "";
  assert.is(s.split("Not implemented: ab").length - 1, 2);
  // Each of several stubs also names the function it is in, so none claims to be another.
  assert.ok(s.includes('  // YOUR CODE HERE\n  throw new Error("Not implemented: ab (a)");'));
  assert.ok(s.includes('\t// YOUR CODE HERE\n\tthrow new Error("Not implemented: ab (b)");'));
  assert.not.ok(s.includes("return 1;") || s.includes("return 2;"));
  assert.ok(s.includes("}\nfunction b() {"));
});

test("a stub in a helper names the helper, a stub in a method names class and method", () => {
  const src = [
    "function erf(x: number): number {",
    "  // ### BEGIN SOLUTION",
    "  return x;",
    "  // ### END SOLUTION",
    "}",
    "class GELU {",
    "  forward(x: number): number {",
    "    if (x > 0) {",
    "      // ### BEGIN SOLUTION",
    "      return erf(x);",
    "      // ### END SOLUTION",
    "    }",
    "    return 0;",
    "  }",
    "}",
  ].join("\n");
  const s = stripSolutions()(notebook([code(src, solution("gelu"))])).cells[0]?.source ?? "";
  assert.ok(s.includes('throw new Error("Not implemented: gelu (erf)");'), s);
  assert.ok(s.includes('throw new Error("Not implemented: gelu (GELU.forward)");'), s);
});

test("release tiers: scaffold kept, instructor removed, challenge kept or stubbed", () => {
  const src = [
    "function f(x: number): string {",
    '  // ### BEGIN SOLUTION role="scaffold"',
    "  const given = x + 1;",
    "  // ### END SOLUTION",
    '  // ### BEGIN SOLUTION role="instructor"',
    "  // note for graders only",
    "  // ### END SOLUTION",
    '  // ### BEGIN SOLUTION role="challenge"',
    "  return String(given);",
    "  // ### END SOLUTION",
    "}",
  ].join("\n");
  const nb = notebook([code(src, solution("f"))]);
  const normal = stripSolutions("default")(nb).cells[0]?.source ?? "";
  assert.is(
    normal,
    [
      "function f(x: number): string {",
      "  const given = x + 1;",
      "  return String(given);",
      "}",
    ].join("\n"),
  );
  const challenge = stripSolutions("challenge")(nb).cells[0]?.source ?? "";
  assert.is(
    challenge,
    [
      "function f(x: number): string {",
      "  const given = x + 1;",
      "  // YOUR CODE HERE",
      '  throw new Error("Not implemented: f");',
      "}",
    ].join("\n"),
  );
});

test("markdown answers become YOUR ANSWER HERE; whole-cell solutions are replaced", () => {
  const md = markdown(
    "Explain why.\n\n### BEGIN SOLUTION\nBecause of secrets.\n### END SOLUTION",
    solution("why"),
  );
  const whole = code("//| export\nconst answer = 42;", solution("whole"));
  const wholeMd = markdown("It is linear.", solution("lin"));
  const out = stripSolutions()(notebook([md, whole, wholeMd]));
  assert.is(out.cells[0]?.source, "Explain why.\n\nYOUR ANSWER HERE");
  assert.is(
    out.cells[1]?.source,
    '//| export\n// YOUR CODE HERE\nthrow new Error("Not implemented: whole");',
  );
  assert.is(out.cells[2]?.source, "YOUR ANSWER HERE");
});

test("cells that are not solution cells are left alone", () => {
  const nb = notebook([code("const shown = 1;"), code("check();", grade("t", 1))]);
  const out = stripSolutions()(nb);
  assert.equal(out.cells, nb.cells);
});

test.run();
