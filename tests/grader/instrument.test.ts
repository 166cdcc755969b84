// The instrumented program, checked as text (the kernel tests check what it does): the preamble
// comes first, student cells are untouched, grade cells are strict blocks whose names are bound
// to trusted values, and hidden-test text is recognised by the sanitizer.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { analyseCell, isCommentOnlyCell, isDemoCell } from "../../grader/src/cell-names";
import { findManifest, readManifest } from "../../grader/src/manifest-store";
import { referenceNotebook } from "../../grader/src/reference";
import { instrument, makeKeys, preambleCode } from "../../grader/src/instrument";
import { reconstruct } from "../../grader/src/reconstruct";
import { hiddenFragments, redact, REDACTED } from "../../grader/src/sanitize";
import { parseSubmission } from "../../grader/src/submission";
import { GOOD, loadFixtureManifest, studentNotebook } from "./helpers";

const manifest = loadFixtureManifest();
let n = 0;
const random = () => `r${n++}`;

const keys = makeKeys(manifest, random);

function program() {
  const parsed = parseSubmission(studentNotebook(manifest, { sources: GOOD }));
  if (!parsed.ok) throw new Error(parsed.reason);
  return { cells: instrument(manifest, reconstruct(manifest, parsed.cells).cells, keys), vaultName: keys.vaultName }; // prettier-ignore
}

test("analyseCell separates declarations, value references and type references", () => {
  const a = analyseCell(
    'import { assertEqual as eq } from "x";\nfunction f(t: Tensor): number { return Math.abs(t.size); }\nconst { a, b: [c] } = obj;\nclass K extends Base {}\neq(f(k), 1);',
  );
  assert.equal(a.functions, ["f"]);
  assert.equal(a.values.sort(), ["K", "a", "c"]);
  assert.equal(a.imports, [{ local: "eq", imported: "assertEqual", spec: "x" }]);
  assert.ok(a.valueRefs.has("Math") && a.valueRefs.has("obj") && a.valueRefs.has("Base"));
  assert.not.ok(a.valueRefs.has("abs"), "property names are not references");
  assert.not.ok(a.valueRefs.has("size"));
  assert.ok(a.typeRefs.has("Tensor"));
  assert.not.ok(a.valueRefs.has("Tensor"));
});

test("the preamble carries the vault name and every token; student cells are sent unchanged", () => {
  const pre = preambleCode(manifest, keys);
  assert.match(pre, /holder\.exports\(require,/);
  assert.ok(pre.includes(keys.vaultName));
  for (const t of keys.tokens.values()) assert.ok(pre.includes(t));
  assert.is(keys.tokens.size, 5, "one token per grader-owned code cell");
  const p = program();
  const double = p.cells.find((c) => c.planned?.gradeId === "double");
  assert.is(double?.code, GOOD.double);
  // Markdown cells are not sent to the kernel.
  assert.not.ok(p.cells.some((c) => c.planned?.cellType === "markdown"));
});

test("a grade cell is a strict block with the harness re-imported and globals bound", () => {
  const p = program();
  const cell = p.cells.find((c) => c.planned?.gradeId === "test-unit-triple")?.code ?? "";
  const lines = cell.split("\n");
  assert.is(lines[0], '"use strict";');
  assert.ok(
    cell.includes('import { assertEqual } from "tinytorch-ts/support/testing";'),
    "harness names declared in an earlier provided cell are imported again",
  );
  assert.match(cell, new RegExp(`const \\{ Math \\} = \\${p.vaultName}\\.g;`));
  // makeInput comes from the read-only cell, through the vault, not from the shared namespace.
  assert.match(cell, /type \$titoT_makeInput = typeof makeInput;/);
  assert.match(cell, /const makeInput: \$titoT_makeInput = \$titoV_\w+\.get\("\w+"\)\.makeInput;/);
  // The student's functions are left to resolve to the student's definitions.
  assert.not.match(cell, /const \{[^}]*\btriple\b/);
  const open = lines.indexOf("try {");
  assert.ok(open > 0, "the test runs inside try");
  assert.match(
    lines[lines.length - 1],
    /^\} catch \(\$titoThrown\) \{ throw \$titoV_\w+\.fail\("\w+", \$titoThrown\); \}$/,
  );
  assert.ok(cell.indexOf("function testUnitTriple") > open, "test body inside the block");
  // The failure reporter starts before anything else in the cell (imports included).
  assert.match(lines[2], /^\$titoV_\w+\.begin\("\w+"\);$/);
});

test("the module test binds earlier tests from the vault", () => {
  const p = program();
  const cell = p.cells.find((c) => c.planned?.gradeId === "test-module")?.code ?? "";
  assert.match(cell, /const \{ testUnitDouble \} = \$titoV_\w+\.get\(/);
  assert.match(cell, /const \{ testUnitTriple \} = \$titoV_\w+\.get\(/);
});

test("demo cells are recognised: only calls of demo(), awaited or not", () => {
  assert.ok(isDemoCell('await demo("timing", () => {\n  run();\n});'));
  assert.ok(isDemoCell('demo("a", f);\nawait demo("b", g);'));
  assert.not.ok(isDemoCell(""), "an empty cell is not a demo");
  assert.not.ok(isDemoCell('const x = 1;\nawait demo("a", () => x);'), "it declares x");
  assert.not.ok(isDemoCell('await demo("a", f);\nlog();'), "it does something else too");
  assert.not.ok(isDemoCell("await other.demo(f);"), "only the harness's demo()");
});

test("comment-only cells are recognised", () => {
  assert.ok(isCommentOnlyCell("//| default_exp core.tensor"));
  assert.ok(isCommentOnlyCell("/* a note */\n\n// another"));
  assert.not.ok(isCommentOnlyCell("//| export\nconst x = 1;"));
  assert.not.ok(isCommentOnlyCell(";"), "an empty statement is still a statement");
});

test("the grader skips demo and comment-only cells, and runs every other code cell", () => {
  const { manifest: real } = readManifest(findManifest("01_tensor"));
  const parsed = parseSubmission(referenceNotebook(real));
  if (!parsed.ok) throw new Error(parsed.reason);
  const sent = instrument(real, reconstruct(real, parsed.cells).cells, makeKeys(real, random));
  const code = real.cells.filter((c) => c.cell_type === "code");
  const demos = code.filter((c) => isDemoCell(c.gradingSource));
  const comments = code.filter((c) => isCommentOnlyCell(c.gradingSource));
  assert.ok(demos.length >= 2 && comments.length >= 1, "01_tensor has both kinds");
  assert.is(sent.length, code.length - demos.length - comments.length);
  assert.not.ok(sent.some((c) => c.code.includes("loop order timing")));
  assert.ok(sent.some((c) => c.planned.gradeId === "test-module-tensor"));
});

test("hidden-test lines are redacted in TypeScript and compiled JavaScript form", () => {
  const fragments = hiddenFragments(manifest);
  const out = [
    "✅ testUnitDouble passed",
    "  assertEqual(double(secretInput), -7, 'double of a negative number');",
    '(0, testing_1.assertEqual)(exports.double(secretInput), -7, "double of a negative number");',
    "TestFailure: double of a negative number: expected -7, got 0",
  ].join("\n");
  const cleaned = redact(out, fragments);
  assert.not.match(cleaned, /secretInput/);
  assert.match(cleaned, /testUnitDouble passed/);
  assert.match(cleaned, /TestFailure: double of a negative number: expected -7, got 0/);
  assert.is(cleaned.split("\n").filter((l) => l === REDACTED).length, 2);
  // Visible test lines are not hidden: students already have them.
  assert.not.ok(fragments.some((f) => f.includes("triple(makeInput())")));
});

test.run();
