// The kernel's copy of a test carries no expected values: the expected argument of each harness
// assertion becomes `undefined`, and what only served to compute it is removed, repeatedly.
// Lines stay where they were, so compiler messages still point at the right place.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  blankRanges,
  harnessNames,
  stripExpectedArguments,
  withoutExpectations,
} from "../../grader/src/expectations";

const IMPORT = 'import { assertEqual, assertClose as close, assert } from "tinytorch-ts/support/testing";'; // prettier-ignore

test("expected arguments of the harness's assertions are replaced, aliases and namespaces included", () => {
  const names = harnessNames([IMPORT, 'import * as t from "tinytorch-ts/support/testing";']);
  const src = [
    "assertEqual(f(1), [1, 2], 'label');",
    "close(g(x), oracle(x), { atol: 1e-6 });",
    "t.assertShape(h().shape, [2, 3]);",
    "assert(f(2) === 4, 'kept: a condition is the actual value');",
    "other(f(3), 99);",
  ].join("\n");
  const out = stripExpectedArguments(src, names);
  assert.match(out, /assertEqual\(f\(1\), undefined as any\s*, 'label'\);/);
  assert.match(out, /close\(g\(x\), undefined as any\s*, \{ atol: 1e-6 \}\);/);
  assert.match(out, /t\.assertShape\(h\(\)\.shape, undefined as any\s*\);/);
  assert.ok(out.includes("assert(f(2) === 4"), "assert keeps its condition");
  assert.ok(out.includes("other(f(3), 99)"), "other functions are left alone");
  assert.not.ok(out.includes("oracle"));
  assert.is(out.split("\n").length, src.split("\n").length, "same number of lines");
});

test("a multi-line expected value keeps its line breaks", () => {
  const src = "assertEqual(y, [\n  [1, 2],\n  [3, 4],\n]);\nnext();";
  const out = stripExpectedArguments(src, harnessNames([IMPORT]));
  assert.is(out.split("\n").length, 5);
  assert.match(out.split("\n")[4], /^next\(\);$/);
  assert.not.match(out, /\[1, 2\]/);
});

test("declarations that only fed expected values go, and so do the helpers they called", () => {
  const test1 = [
    "function oracle(v: number[]): number[] { return v.map(square); }",
    "function square(v: number): number { return v * v; }",
    "function testUnitSq(): void {",
    "  const x = [1, 2, 3];",
    "  const want = oracle(x);",
    "  assertEqual(sq(x), want, 'element-wise');",
    "  const unusedButSideEffect = sq([9]);",
    "}",
    "testUnitSq();",
  ].join("\n");
  const [out] = withoutExpectations([test1], [IMPORT, "function sq(v: number[]): number[] { throw new Error('Not implemented'); }"]); // prettier-ignore
  assert.not.match(out, /oracle|square|want/);
  assert.ok(out.includes("const x = [1, 2, 3];"), "inputs stay");
  assert.ok(out.includes("function testUnitSq"), "the test itself stays (it is called)");
  assert.ok(
    out.includes("const unusedButSideEffect = sq([9]);"),
    "a call into the notebook's code stays: later checks may depend on its effects",
  );
  assert.is(out.split("\n").length, test1.split("\n").length);
});

test("a seed reset and its draw stay: the declaration calls the notebook's generator", () => {
  const t = "function testSeed(): void {\n  manualSeed(5);\n  const first = randn([4]);\n  manualSeed(5);\n  assertEqual(randn([4]), first);\n}\ntestSeed();"; // prettier-ignore
  const [out] = withoutExpectations([t], [IMPORT, "function randn(s: number[]): number[] { return s; }\nfunction manualSeed(n: number): void {}"]); // prettier-ignore
  assert.ok(out.includes("const first = randn([4]);"));
});

test("names used by other cells, by later tests, or in type positions are kept", () => {
  const first = "function helper(): number { return 1; }\nconst table = [1, 2];\nconst typed = 3;\nfunction t1(): void { assertEqual(1, helper()); }\nt1();"; // prettier-ignore
  const second = "function t2(): typeof typed { assertEqual(table[0], 1); return 3; }\nt2();"; // prettier-ignore
  const [a] = withoutExpectations([first, second], [IMPORT]);
  assert.ok(a.includes("const table"), "a later test uses it");
  assert.ok(a.includes("const typed"), "a type position uses it");
  assert.not.ok(a.includes("function helper"), "only an expected value used it");
});

test("blankRanges puts the replacement at the start and keeps every newline", () => {
  assert.is(blankRanges("ab\ncd", [[0, 5, "X"]]), "X \n  ");
  assert.is(blankRanges("abcdef", [[1, 3, "0123"]]), "a0123def");
});

test.run();
