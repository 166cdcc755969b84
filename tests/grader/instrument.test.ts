// The instrumented program, checked as text (the kernel tests check what it does): student
// cells are untouched, test cells are blocks between the harness's begin and end calls, with
// their hidden-test markers turned into calls and no expected values, and nothing secret is in
// any cell; hidden-test text is recognised by the sanitizer.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  analyseCell,
  isCommentOnlyCell,
  isDemoBesideOtherCode,
  isDemoCell,
} from "../../grader/src/cell-names";
import { findManifest, readManifest } from "../../grader/src/manifest-store";
import { referenceNotebook } from "../../grader/src/reference";
import { instrument, precompiledTestCell, preambleCode } from "../../grader/src/instrument";
import { runInNewContext } from "node:vm";
import { dirname, join } from "node:path";
import { reconstruct } from "../../grader/src/reconstruct";
import { hiddenFragments, redact, REDACTED } from "../../grader/src/sanitize";
import { parseSubmission } from "../../grader/src/submission";
import { GOOD, loadFixtureManifest, studentNotebook } from "./helpers";
import { coursePath, KIT_ROOT } from "@tinytorch-ts/core";

const KIT_MANIFESTS = coursePath(KIT_ROOT, "manifests");

const manifest = loadFixtureManifest();

function program() {
  const parsed = parseSubmission(studentNotebook(manifest, { sources: GOOD }));
  if (!parsed.ok) throw new Error(parsed.reason);
  return instrument(manifest, reconstruct(manifest, parsed.cells).cells);
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

test("the preamble carries the seed and nothing secret; student cells are sent unchanged", () => {
  const pre = preambleCode(manifest, 12345);
  assert.match(pre, /holder\.exports\(require,/);
  assert.match(pre, /"seed":12345/);
  assert.not.match(pre, /token|vault|reportKey/i);
  const cells = program();
  assert.is(cells.find((c) => c.planned.gradeId === "double")?.code, GOOD.double);
  assert.not.ok(
    cells.some((c) => c.planned.cellType === "markdown"),
    "markdown is not sent",
  );
});

test("a test cell runs between begin and end, its hidden markers are calls, and its expected values are gone", () => {
  const cell = program().find((c) => c.planned.gradeId === "test-unit-double")?.code ?? "";
  const lines = cell.split("\n");
  assert.is(lines[0], '"use strict";');
  assert.ok(cell.includes('$titoGrading.begin("test-unit-double");'));
  assert.match(lines[lines.length - 1], /^\} catch \(\$titoThrown\) \{ \$titoGrading\.abort\(\$titoThrown\); \} finally \{ \$titoGrading\.end\(\); \}$/); // prettier-ignore
  assert.ok(cell.includes("$titoGrading.hidden(true);") && cell.includes("$titoGrading.hidden(false);")); // prettier-ignore
  assert.not.ok(cell.includes("### BEGIN HIDDEN TESTS"));
  // assertEqual(double(2), 4, …): the 4 is not sent, the call and its label are.
  assert.match(cell, /assertEqual\(double\(2\), undefined as any, "double\(2\)"\)/);
  assert.match(cell, /assertEqual\(double\(secretInput\), undefined as any/);
  assert.not.match(cell, /-7/);
  // The test function is declared inside the block and forwarded without its source.
  assert.ok(cell.indexOf("function testUnitDouble") > cell.indexOf("try {"));
  assert.match(cell, /exports\.testUnitDouble = \(\(f: any\) => \(\.\.\.args: any\[\]\) => f\(\.\.\.args\)\)\(testUnitDouble\);/); // prettier-ignore
});

test("the module test reaches earlier tests through their forwarders", () => {
  const cell = program().find((c) => c.planned.gradeId === "test-module")?.code ?? "";
  assert.match(cell, /testUnitDouble\(\);/);
  const earlier = program().find((c) => c.planned.gradeId === "test-unit-double")?.code ?? "";
  assert.match(earlier, /declare const testUnitDouble: any;/);
});

test("demo cells are recognised: only calls of demo(), awaited or not", () => {
  assert.ok(isDemoCell('await demo("timing", () => {\n  run();\n});'));
  assert.ok(isDemoCell('demo("a", f);\nawait demo("b", g);'));
  assert.not.ok(isDemoCell(""), "an empty cell is not a demo");
  assert.not.ok(isDemoCell('const x = 1;\nawait demo("a", () => x);'), "it declares x");
  assert.not.ok(isDemoCell('await demo("a", f);\nlog();'), "it does something else too");
  assert.not.ok(isDemoCell("await other.demo(f);"), "only the harness's demo()");
});

test("a demo beside other code is recognised (the grader would run it in every kernel)", () => {
  assert.ok(isDemoBesideOtherCode('const x = 1;\nawait demo("a", () => x);'));
  assert.ok(isDemoBesideOtherCode('await demo("a", f);\nlog();'));
  assert.not.ok(isDemoBesideOtherCode('await demo("a", f);\ndemo("b", g);'), "a demo cell");
  assert.not.ok(isDemoBesideOtherCode("const x = run();"), "no demo at all");
  assert.not.ok(
    isDemoBesideOtherCode('const f = () => demo("a", g);'),
    "a demo inside a function runs only when called",
  );
  assert.not.ok(isDemoBesideOtherCode(""));
});

test("comment-only cells are recognised", () => {
  assert.ok(isCommentOnlyCell("//| default_exp core.tensor"));
  assert.ok(isCommentOnlyCell("/* a note */\n\n// another"));
  assert.not.ok(isCommentOnlyCell("//| export\nconst x = 1;"));
  assert.not.ok(isCommentOnlyCell(";"), "an empty statement is still a statement");
});

test("the grader skips demo and comment-only cells, and runs every other code cell", () => {
  const { manifest: real } = readManifest(findManifest("01_tensor", KIT_MANIFESTS));
  const parsed = parseSubmission(referenceNotebook(real));
  if (!parsed.ok) throw new Error(parsed.reason);
  const sent = instrument(real, reconstruct(real, parsed.cells).cells);
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

test("a precompiled test cell runs its JavaScript as tslab would, and declares what later cells call", async () => {
  const cell = program().find((c) => c.planned.gradeId === "test-unit-double");
  assert.ok(cell);
  assert.equal(cell.forwarded, ["testUnitDouble"]);
  const js = "exports.testUnitDouble = () => 4; exports.$last = 1; exports.seen = require('x');";
  for (const async of [false, true]) {
    const code = precompiledTestCell(cell, { js, async, lastExpression: "$last" });
    assert.match(code, /^declare const testUnitDouble: any;$/m);
    assert.is(code.includes("await Promise.resolve((0, eval)("), async);
    // The cell's one statement, run as the kernel would run it (TypeScript removes the rest).
    const call = /\(0, eval\)\((".*")\)\)?;$/m.exec(code);
    assert.ok(call);
    const exports: Record<string, unknown> = {};
    const __tslab__ = { exports, require: (m: string) => `module ${m}` };
    await runInNewContext(JSON.parse(call[1]) as string, { __tslab__ });
    assert.equal(Object.keys(exports).sort(), ["seen", "testUnitDouble"], "the last expression is forgotten"); // prettier-ignore
    assert.is(exports.seen, "module x");
  }
});

test("tslab sees a precompiled async test cell's top-level await (so the kernel waits for it)", () => {
  const cell = program().find((c) => c.planned.gradeId === "test-unit-double");
  assert.ok(cell);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createConverter } = require(join(dirname(require.resolve("tslab/package.json")), "dist", "converter")) as { createConverter(o: object): { convert(prev: string, src: string): { hasToplevelAwait?: boolean; diagnostics: unknown[] }; close(): void } }; // prettier-ignore
  const converter = createConverter({ isJS: false, isBrowser: false });
  try {
    for (const async of [false, true]) {
      const r = converter.convert("", precompiledTestCell(cell, { js: "", async, lastExpression: null })); // prettier-ignore
      assert.equal(r.diagnostics, []);
      assert.is(r.hasToplevelAwait === true, async);
    }
  } finally {
    converter.close();
  }
});

test.run();
