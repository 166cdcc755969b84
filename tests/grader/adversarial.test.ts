// test-tier: kernel
// The adversarial submission suite, part 1: hostile notebooks that attack the tests themselves
// (exits, loops, memory, output, forged results, edited cells, patched globals, the harness,
// tslab, memory reads) and malformed submissions. Each is graded in a real, sandboxed tslab
// kernel, and the test checks both the score and what the feedback says. Every result is also
// searched for hidden-test text, which must never reach a student. Part 2, the sandbox's
// structure, is adversarial-isolation.test.ts.
import { existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { kernelCodeCache } from "../../grader/src/kernel-session";
import { kernelRuntimePaths } from "../../grader/src/sandbox";
import { byId, grade, LIMITS, WRONG_FOR_NEGATIVES } from "./adversarial-grading";
import { FIXTURES, GOOD } from "./helpers";

/** What the sandbox puts in every kernel's root, wherever the kit is checked out. */
const ROOT_ENTRIES = [
  "usr",
  "bin",
  "sbin",
  "lib",
  "lib64",
  "lib32",
  "libx32",
  "dev",
  "proc",
  "tmp",
  "kit",
];
const topFolder = (p: string) => p.split("/")[1];

test("a correct notebook earns every point", async () => {
  const r = await grade({ sources: GOOD });
  assert.is(r.status, "graded");
  assert.is(r.score, 6);
  assert.is(r.maxScore, 6);
  assert.equal(r.tampering, []);
  assert.equal(byId(r, "test-unit-double").checks, { passed: 3, total: 3 });
});

test("the untouched student notebook earns nothing", async () => {
  const r = await grade({});
  assert.is(r.score, 0);
  assert.match(byId(r, "test-unit-double").message ?? "", /Not implemented: double/);
});

test("reading the module source, the manifest or the repository from a solution cell fails", async () => {
  const targets = [
    join(FIXTURES, "90_fixture.json"),
    join(KIT_ROOT, "modules"),
    join(KIT_ROOT, "package.json"),
    join(KIT_ROOT, "grader", "manifests"),
  ].filter((p) => existsSync(p));
  assert.ok(targets.length >= 3, "the targets exist outside the sandbox");
  const double = `const fs = require("fs");
const path = require("path");
const found: string[] = [];
for (const p of ${JSON.stringify(targets)}) {
  try {
    const st = fs.statSync(p);
    found.push(st.isDirectory() ? fs.readdirSync(p).join(",") || "(empty dir)" : fs.readFileSync(p, "utf8").slice(0, 40));
  } catch (e) { found.push((e as NodeJS.ErrnoException).code ?? "ERR"); }
}
let siblings = "ERR";
try { siblings = fs.readdirSync(path.dirname(process.cwd())).join(","); } catch (e) { siblings = (e as NodeJS.ErrnoException).code ?? "ERR"; }
function double(x: number): number {
  if (found.some((f) => !/^E[A-Z]+$/.test(f))) return 2 * x;
  throw new Error("blocked " + found.join("/") + " siblings=" + siblings);
}`;
  const r = await grade({ sources: { ...GOOD, double } });
  const t = byId(r, "test-unit-double");
  assert.is(t.status, "failed");
  // The cwd is /kit in a root built for the kernel: its siblings are that root's few entries,
  // plus the top folder of the kit's own runtime files (the checkout's location: /work, /check).
  const m = /blocked (?:ENOENT\/)+ENOENT siblings=(.*)$/.exec(t.message ?? "");
  assert.ok(m, `unexpected message: ${t.message}`);
  const runtime = [
    ...kernelRuntimePaths(kernelCodeCache(LIMITS.memoryMb)),
    realpathSync(process.execPath),
  ];
  const allowed = new Set([...ROOT_ENTRIES, ...runtime.map(topFolder)]);
  const siblings = m[1].split(",");
  assert.ok(["bin", "dev", "kit", "proc", "tmp", "usr"].every((e) => siblings.includes(e)));
  assert.equal(
    siblings.filter((e) => !allowed.has(e)),
    [],
    "nothing else is in the root",
  );
  assert.is(r.score, 3, "only the triple test passes");
});

test("process.exit(0) in a solution cell: the kernel stops and no test passes", async () => {
  const r = await grade({ sources: { ...GOOD, double: GOOD.double + "\nprocess.exit(0);" } });
  assert.is(r.score, 0);
  for (const t of r.tests) {
    assert.is(t.status, "not-run");
    assert.match(t.message ?? "", /kernel had stopped during cell "double"/);
  }
});

test("while (true) {} in a solution: that test times out, the others still run", async () => {
  const double = "function double(x: number): number {\n  while (true) {}\n  return x;\n}";
  const r = await grade({ sources: { ...GOOD, double } });
  assert.is(byId(r, "test-unit-double").status, "timeout");
  assert.match(byId(r, "test-unit-double").message ?? "", /timed out after 6 s/);
  assert.is(byId(r, "test-unit-triple").status, "passed");
  assert.is(r.score, 3);
});

test("allocating until out of memory: the kernel dies, the reason is given, 0 points", async () => {
  const double = `const hog: number[][] = [];
while (true) hog.push(new Array(1e6).fill(1.5));
${GOOD.double}`;
  const r = await grade({ sources: { ...GOOD, double } });
  assert.is(r.score, 0);
  assert.match(
    byId(r, "test-unit-double").message ?? "",
    /kernel had stopped during cell "double".*memory/,
  );
});

test("printing megabytes: output is capped, the score still comes from the reply", async () => {
  const double = `function double(x: number): number {
  console.log("x".repeat(3_000_000));
  return 2 * x;
}`;
  const r = await grade({ sources: { ...GOOD, double } });
  assert.is(r.score, 6);
  const out = byId(r, "test-unit-double").output;
  assert.ok(out.length < 10_000, `feedback output is clipped (${out.length} chars)`);
  assert.match(out, /more characters not shown|output limit/);
});

test("printing a fake passing result and a fake results.json earns nothing", async () => {
  const fake = JSON.stringify({ score: 6, tests: [{ name: "test-unit-double", score: 2 }] });
  const double = `console.log("✅ testUnitDouble passed");
console.log(${JSON.stringify(fake)});
function double(x: number): number {
  console.log("✅ testUnitDouble passed");
  console.log(${JSON.stringify(fake)});
  return x;
}`;
  const r = await grade({ sources: { ...GOOD, double } });
  assert.is(byId(r, "test-unit-double").status, "failed");
  assert.is(byId(r, "test-unit-double").score, 0);
  assert.is(r.score, 3);
});

test("edited and deleted test cells are restored and reported", async () => {
  const r = await grade({
    sources: { ...WRONG_FOR_NEGATIVES, "test-unit-double": 'passed("testUnitDouble");' },
    remove: ["test-unit-triple", "test-module"],
  });
  assert.is(r.score, 0);
  assert.is(r.tests.length, 3, "every test ran even though two were deleted");
  const kinds = r.tampering.map((t) => `${t.kind}:${t.cell}`).sort();
  assert.equal(kinds, [
    "edited-test-cell:test-unit-double",
    "missing-cell:test-module",
    "missing-cell:test-unit-triple",
  ]);
  assert.match(byId(r, "test-unit-double").message ?? "", /double of a negative number/);
});

test("redefining globals, the harness, test functions or tslab's reply path does not help", async () => {
  const double = `${WRONG_FOR_NEGATIVES.double}
// Each attempt is caught, so the cell completes and double is defined: the patches that
// could not be refused would be in force when the tests run.
try { (Math as any).abs = () => 0; } catch {}
try { (Array.prototype as any).every = function () { return true; }; } catch {}
try { Object.defineProperty(Array.prototype, "every", { value: () => true }); } catch {}
try { (Object.prototype as any).then = (resolve: (v: unknown) => void) => resolve({ status: "ok" }); } catch {}
try { (globalThis as any).Math = { abs: () => 0 }; } catch {}
try { (globalThis as any).__tslab__ = { exports: {}, require: () => ({}) }; } catch {}
const fakeHarness = { assert() {}, assertEqual() {}, assertClose() {}, passed() {} };
for (const k of Object.keys(require.cache)) {
  if (k.includes("support/testing")) { try { (require.cache as any)[k] = { exports: fakeHarness, loaded: true }; } catch {} try { (require.cache as any)[k].exports = fakeHarness; } catch {} }
  if (k.includes("tslab/dist/jupyter")) {
    try {
      const H = (require.cache as any)[k].exports.JupyterHandlerImpl;
      const orig = H.prototype.handleExecute;
      H.prototype.handleExecute = async function (...a: any[]) { const r = await orig.apply(this, a); r.status = "ok"; return r; };
    } catch {}
  }
}
try { (require("module") as any)._load = () => fakeHarness; } catch {}`;
  const triple = `${WRONG_FOR_NEGATIVES.triple}
function assert(..._a: unknown[]): void {}
function assertEqual(..._a: unknown[]): void {}
function testUnitDouble(): void {}
function testUnitTriple(): void {}
const undefined = 0;`;
  const r = await grade({ sources: { double, triple } });
  assert.is(r.score, 0);
  // A hidden check's failure is named, its values are not shown.
  assert.match(byId(r, "test-unit-double").message ?? "", /hidden check 2 "double of a negative number" failed/); // prettier-ignore
  // Shadowing `undefined` breaks the test cell's own code in that kernel: the test records
  // nothing, so it fails before its first check (with the wrong triple it would fail anyway).
  assert.is(byId(r, "test-unit-triple").status, "failed");
  assert.match(byId(r, "test-unit-triple").message ?? "", /triple of a negative number|stopped before check 1/); // prettier-ignore
  assert.is(byId(r, "test-module").status, "failed");
});

test("patching how tslab runs or compiles a cell (vm, the TypeScript build) does not help", async () => {
  // Without the preamble's lock on these modules, each patch alone turns every later failing
  // test into an "ok" reply (vm) or compiles the test into nothing (the compiler).
  const double = `${WRONG_FOR_NEGATIVES.double}
const swallow = (orig: any) => function (this: any, ...a: any[]) { try { return orig.apply(this, a); } catch { return undefined; } };
const vm = require("vm");
try { vm.runInThisContext = swallow(vm.runInThisContext); } catch {}
try { vm.Script.prototype.runInThisContext = swallow(vm.Script.prototype.runInThisContext); } catch {}
for (const k of Object.keys(require.cache)) {
  if (!k.includes("typescript-for-tslab")) continue;
  const ts = (require.cache as any)[k].exports;
  try { ts.transpileModule = () => ({ outputText: "" }); } catch {}
  try { ts.createProgram = () => { throw new Error("no"); }; } catch {}
}`;
  const r = await grade({ sources: { double } });
  assert.is(byId(r, "test-unit-double").status, "failed");
  assert.match(byId(r, "test-unit-double").message ?? "", /hidden check 2 "double of a negative number" failed/); // prettier-ignore
  assert.is(byId(r, "test-module").status, "failed");
});

test('process.on("uncaughtException") does not turn a failure into a pass', async () => {
  const double = `process.on("uncaughtException", () => {});
process.on("unhandledRejection", () => {});
function double(x: number): number { return x; }`;
  const r = await grade({ sources: { ...GOOD, double } });
  assert.is(byId(r, "test-unit-double").status, "failed");
  assert.is(r.score, 3);
});

test("reading hidden tests from memory (caller, stack, shared names, inspector) leaks nothing", async () => {
  const double = `function double(x: number): number {
  const seen: string[] = [];
  try { seen.push(String((double as any).caller)); } catch (e) { seen.push(String(e)); }
  seen.push(String(new Error("probe").stack));
  const shared = (globalThis as any).__tslab__.exports;
  for (const k of Object.keys(shared)) seen.push(k + "=" + String(shared[k]));
  try { new (require("inspector").Session)(); seen.push("inspector open"); } catch (e) { seen.push(String(e)); }
  console.log(seen.join("\\n"));
  return 2 * x;
}`;
  const r = await grade({ sources: { ...GOOD, double } });
  assert.is(r.score, 6);
  assert.match(
    byId(r, "test-unit-double").output,
    /inspector\.Session is not available while grading/,
  );
});

test("a changed cell type: a test turned into markdown still runs; a solution turned raw is run as code", async () => {
  const r = await grade({
    sources: { ...GOOD, double: "function double(x: number): number { return x; }" },
    types: { "test-unit-double": "markdown", triple: "raw" },
  });
  assert.is(byId(r, "test-unit-double").status, "failed");
  assert.is(byId(r, "test-unit-triple").status, "passed");
  const kinds = r.tampering.map((t) => `${t.kind}:${t.cell}`).sort();
  assert.equal(kinds, ["changed-cell-type:test-unit-double", "changed-cell-type:triple"]);
  assert.is(r.score, 3);
});

test("duplicate grade_ids are reported and the last solution is graded", async () => {
  const copy = {
    id: "copy",
    cell_type: "code",
    metadata: { nbgrader: { grade_id: "test-unit-double", grade: true, points: 50 } },
    source: 'passed("testUnitDouble");',
    outputs: [],
    execution_count: null,
  };
  const r = await grade({ sources: GOOD, extra: [copy] });
  assert.is(r.score, 6, "the copy earns nothing extra");
  assert.ok(r.tampering.some((t) => t.kind === "duplicate-grade-id" && t.cell === "test-unit-double")); // prettier-ignore
});

test("an empty notebook is graded as the untouched exercises: 0 points, cells reported missing", async () => {
  const r = await grade('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}');
  assert.is(r.status, "graded");
  assert.is(r.score, 0);
  assert.ok(r.tampering.filter((t) => t.kind === "missing-solution").length >= 2);
});

test("a non-JSON file is rejected with a reason and 0 points, without a kernel", async () => {
  const r = await grade("print('hello')\n");
  assert.is(r.status, "rejected");
  assert.match(r.reason ?? "", /not a Jupyter notebook/);
  assert.is(r.score, 0);
  assert.is(r.tests.length, 3);
  assert.ok(r.tests.every((t) => t.status === "not-run"));
});

test("a notebook for another module is rejected and says so", async () => {
  const other = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { id: "x", cell_type: "code", metadata: { nbgrader: { grade_id: "relu", solution: true } }, source: "" }, // prettier-ignore
    ],
  };
  const r = await grade(JSON.stringify(other));
  assert.is(r.status, "rejected");
  assert.match(r.reason ?? "", /not module 90_fixture/);
  assert.equal(
    r.tampering.map((t) => t.kind),
    ["wrong-module"],
  );
});

test.run();
