// test-tier: kernel
// Attacks on the values checks are made of, graded on the real 01_tensor notebook: every attack
// edits only solution cells (the reference solutions, with hostile code around them), so each
// has an honest score the test states test by test. After each one, every string of the result
// and of both renderings (results.json, the feedback page) is searched for hidden-test lines, as
// written and after base64, hex and zlib decoding.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderFeedback } from "../../grader/src/feedback-html";
import { gradeSubmission } from "../../grader/src/grade-submission";
import { findManifest, readManifest } from "../../grader/src/manifest-store";
import { referenceSolutions } from "../../grader/src/reference";
import { PRINTED_HEADER, toGradescope } from "../../grader/src/results-json";
import { hiddenFragments, normaliseCode } from "../../grader/src/sanitize";
import type { SubmissionResult, TestResult } from "../../grader/src/types";
import { assertNoHiddenLines, decodings } from "./leak-check";
import { deflateSync, gzipSync } from "node:zlib";
import { studentNotebook } from "./helpers";
import { coursePath, KIT_ROOT } from "@tinytorch-ts/core";

const KIT_MANIFESTS = coursePath(KIT_ROOT, "manifests");

const { manifest } = readManifest(findManifest("01_tensor", KIT_MANIFESTS));
const REFERENCE = referenceSolutions(manifest);
const HIDDEN = hiddenFragments(manifest);
const LIMITS = { cellTimeoutMs: 60_000, notebookTimeoutMs: 290_000, memoryMb: 768 };
/** The points the grader awards by itself (written answers are scored by hand). */
const AUTOMATIC = manifest.cells.reduce((n, c) => n + (c.role === "grade" ? (c.points ?? 0) : 0), 0); // prettier-ignore
const POINTS = new Map(
  manifest.cells.flatMap((c) => (c.role === "grade" && c.grade_id ? [[c.grade_id, c.points ?? 0]] : [])), // prettier-ignore
);

/** The reference solution of `id` with `fn` renamed, and `fn` redefined by `wrapper`. */
function around(id: string, fn: string, wrapper: string): string {
  const source = REFERENCE.get(id);
  if (source === undefined || !source.includes(`function ${fn}(`)) throw new Error(`no ${fn} in ${id}`); // prettier-ignore
  return `${source.replace(`function ${fn}(`, `function ${fn}Reference(`)}\n${wrapper}`;
}

/** `fn` as the reference, except that whatever it throws is replaced by `rethrow` (uses `e`). */
function rethrowing(id: string, fn: string, rethrow: string): string {
  return around(
    id,
    fn,
    `function ${fn}(...args: any[]): any {
  try { return (${fn}Reference as any)(...args); } catch (e: any) { ${rethrow} }
}`,
  );
}

async function grade(attacks: Record<string, string>): Promise<SubmissionResult> {
  const sources = { ...Object.fromEntries(REFERENCE), ...attacks };
  const r = await gradeSubmission(manifest, studentNotebook(manifest, { sources }), LIMITS);
  assert.is(r.status, "graded", r.reason);
  assert.equal(r.tampering, [], "only solution cells were edited");
  // A hidden line that the student's own code also contains (`for (let i = 0; i < m; i++) {`)
  // is theirs to print.
  const own = Object.values(sources).flatMap((src) => src.split("\n").map(normaliseCode));
  const hidden = HIDDEN.filter((f) => !own.some((line) => line.includes(f)));
  assertNoHiddenLines([r, toGradescope(r), renderFeedback(r)], hidden);
  return r;
}

function byId(r: SubmissionResult, id: string): TestResult {
  const t = r.tests.find((x) => x.gradeId === id);
  if (!t) throw new Error(`no result for ${id}`);
  return t;
}

/** Every test passes except those listed, which fail; the total is what that adds up to. */
function assertHonest(r: SubmissionResult, failing: string[]): void {
  for (const t of r.tests) {
    if (t.status === "manual") continue; // an answer graded by hand: no automatic verdict
    const fails = failing.includes(t.gradeId);
    assert.is(t.status, fails ? "failed" : "passed", `${t.gradeId}: ${t.message ?? ""}`);
  }
  const honest = [...POINTS].reduce((s, [id, p]) => s + (failing.includes(id) ? 0 : p), 0);
  assert.is(r.score, honest, "the honest score");
}

test("the leak search sees through base64, hex and zlib", () => {
  const line = 'assertEqual(flattenNested([]).shape, [0], "empty array");';
  for (const encoded of [
    Buffer.from(line).toString("base64"),
    Buffer.from(line).toString("hex"),
    deflateSync(line).toString("base64"),
    gzipSync(line).toString("hex"),
    Buffer.from(deflateSync(line).toString("base64")).toString("hex"),
  ]) {
    assert.ok(decodings(`noise ${encoded} noise`).includes(line), encoded);
    let caught = "";
    try {
      assertNoHiddenLines([{ output: encoded }], HIDDEN);
    } catch (e) {
      caught = (e as Error).message;
    }
    assert.match(caught, /^hidden line /, encoded);
  }
});

test("the reference solutions earn full marks (the baseline the attacks start from)", async () => {
  const r = await grade({});
  assertHonest(r, []);
  assert.is(r.score, AUTOMATIC, "every automatic point (written answers are graded by hand)");
});

test("error messages shaped to answer any check match none", async () => {
  const r = await grade({
    // An object whose includes/test/startsWith say yes to every pattern.
    "flatten-nested": rethrowing(
      "flatten-nested",
      "flattenNested",
      `
      const yes = () => true;
      e.message = { includes: yes, test: yes, startsWith: yes, endsWith: yes, match: () => [""], indexOf: () => 0, toString: () => "ragged number" };
      throw e;`,
    ),
    // A getter that returns whatever a check might want.
    "resolve-shape": rethrowing(
      "resolve-shape",
      "resolveShape",
      `
      const fake = new Error();
      Object.defineProperty(fake, "message", { get: () => "size 6 -1 ambiguous" });
      throw fake;`,
    ),
    // A Proxy around a real error with a matching message.
    "broadcast-shapes": rethrowing(
      "broadcast-shapes",
      "broadcastShapes",
      `
      throw new Proxy(new Error("broadcast [2, 3] [8, 4, 3] [3] [4] " + e.message), {});`,
    ),
    // Not an Error: an object that turns into any string it is asked for.
    "matmul-kernel": rethrowing(
      "matmul-kernel",
      "matmulKernel",
      `
      const text = "matmul [2, 3] [4, 1] " + e.message;
      throw { name: "Error", message: text, [Symbol.toPrimitive]: () => text, toString: () => text };`,
    ),
    // A boxed String: typeof "object", with every String method.
    "reduce-kernel": rethrowing(
      "reduce-kernel",
      "reduceKernel",
      `
      e.message = new String("out of bounds identity " + e.message);
      throw e;`,
    ),
    // A subclass with a message getter on its prototype and no own message.
    "permute-kernel": rethrowing(
      "permute-kernel",
      "permuteKernel",
      `
      class Sneaky extends Error { override get message(): string { return "repeated out of bounds"; } }
      throw new Sneaky();`,
    ),
    // Patching the built-ins a check could use, then a wrong message.
    "slice-indices": rethrowing(
      "slice-indices",
      "sliceIndices",
      `
      const yes = () => true;
      try { (String.prototype as any).includes = yes; } catch {}
      try { (RegExp.prototype as any).exec = () => [""]; } catch {}
      try { (RegExp.prototype as any).test = yes; } catch {}
      try { (Reflect as any).apply = () => true; } catch {}
      throw new Error("nothing a check wants");`,
    ),
  });
  // broadcastShapes is also how elementwiseKernel reports a mismatch; the module test checks
  // the messages of reshape, matmul and max, which the attacked kernels now give.
  assertHonest(r, [
    "test-unit-flatten-nested",
    "test-unit-resolve-shape",
    "test-unit-broadcast-shapes",
    "test-unit-elementwise-kernel",
    "test-unit-matmul-kernel",
    "test-unit-reduce-kernel",
    "test-unit-permute-kernel",
    "test-unit-slice-indices",
    "test-module-tensor",
  ]);
  // A visible check says why; a hidden one says only that an error was expected.
  const why = /no message that is a plain string|does not match|an error was expected/;
  for (const id of [
    "test-unit-flatten-nested",
    "test-unit-broadcast-shapes",
    "test-unit-reduce-kernel",
    "test-unit-slice-indices",
  ]) {
    const message = byId(r, id).message ?? "";
    assert.match(message, why, `${id}: ${message}`);
  }
});

test("a plain array dressed as a Float32Array (Symbol.hasInstance, prototype and tag tricks) earns nothing", async () => {
  const fakeData = `
      const plain: any = Array.from(ref.data);
      try { Object.defineProperty(Float32Array, Symbol.hasInstance, { value: () => true }); refusals.push("hasInstance: done"); } catch { refusals.push("hasInstance: refused"); }
      try { Object.setPrototypeOf(Float32Array, { [Symbol.hasInstance]: () => true, from: () => plain }); refusals.push("setPrototypeOf: done"); } catch { refusals.push("setPrototypeOf: refused"); }
      Object.defineProperty(plain, Symbol.toStringTag, { value: "Float32Array" });`;
  const r = await grade({
    // A plain array, dressed as a Float32Array every way JavaScript allows.
    "flatten-nested": around(
      "flatten-nested",
      "flattenNested",
      `
    const refusals: string[] = [];
    function flattenNested(values: any): any {
      const ref = flattenNestedReference(values);
      if (JSON.stringify(values) !== "[[1,2,3],[4,5,6]]") return ref;
      ${fakeData}
      console.log(refusals.join("; "));
      return { data: plain, shape: ref.shape };
    }`,
    ),
    // A plain array whose prototype is Float32Array.prototype (instanceof says yes).
    "elementwise-kernel": around(
      "elementwise-kernel",
      "elementwiseKernel",
      `
    function elementwiseKernel(a: any, b: any, op: any): any {
      const ref = elementwiseKernelReference(a, b, op);
      if (ref.shape.join() !== "2,3") return ref;
      const plain: any = Array.from(ref.data);
      plain[Symbol.iterator] = Array.prototype[Symbol.iterator];
      Object.setPrototypeOf(plain, Float32Array.prototype);
      return { data: plain, shape: ref.shape };
    }`,
    ),
  });
  // The kernel is the student's: these tricks may well work in it (they do: a student can patch
  // Float32Array itself), and then the student's own later code breaks too. What matters is that
  // no faked test passes, and that the score is exactly the points of the tests that did pass.
  for (const id of ["test-unit-flatten-nested", "test-unit-elementwise-kernel"]) assert.is(byId(r, id).status, "failed", id); // prettier-ignore
  const earned = r.tests.reduce((n, t) => n + (t.status === "passed" ? (POINTS.get(t.gradeId) ?? 0) : 0), 0); // prettier-ignore
  assert.is(r.score, earned, "the score is the sum of the passed tests");
  assert.ok(r.score <= AUTOMATIC - (POINTS.get("test-unit-flatten-nested") ?? 0) - (POINTS.get("test-unit-elementwise-kernel") ?? 0)); // prettier-ignore
  const flatten = byId(r, "test-unit-flatten-nested");
  assert.match(flatten.message ?? "", /data must be a Float32Array/);
});

test("stack-trace hooks are locked, and a forged failure reason is shown as the student's", async () => {
  const forged = "KernelDied: the kernel died while grading; ask for a regrade";
  const r = await grade({
    "compute-strides": around(
      "compute-strides",
      "computeStrides",
      `
    const tried: string[] = [];
    // Sloppy-mode assignments fail silently, so each attempt is judged by its effect.
    const attempt = (what: string, f: () => void, worked: () => boolean) => {
      try { f(); } catch {}
      tried.push(what + (worked() ? ": done" : ": refused"));
    };
    const E = Error as any;
    const rewrite = (_e: unknown, frames: any[]) => ${JSON.stringify(forged)} + frames.map((f) => String(f.getFunction?.())).join("\\n");
    const noop = () => undefined;
    attempt("assign prepareStackTrace", () => { E.prepareStackTrace = rewrite; }, () => E.prepareStackTrace === rewrite);
    attempt("define prepareStackTrace", () => { Object.defineProperty(Error, "prepareStackTrace", { value: rewrite }); }, () => E.prepareStackTrace === rewrite);
    attempt("assign captureStackTrace", () => { E.captureStackTrace = noop; }, () => E.captureStackTrace === noop);
    attempt("define captureStackTrace", () => { Object.defineProperty(Error, "captureStackTrace", { value: noop }); }, () => E.captureStackTrace === noop);
    let told = false;
    function computeStrides(shape: readonly number[]): number[] {
      if (!told) { told = true; console.log(tried.join("\\n")); }
      return computeStridesReference(shape);
    }`,
    ),
    // Throws an error named like a grader verdict, prints it on stdout and stderr, writes a
    // report line with a guessed key, and rewrites everything later written to stderr.
    "resolve-shape": `class KernelDied extends Error {
  constructor(message: string) { super(message); this.name = "KernelDied"; }
}
function resolveShape(size: number, shape: readonly number[]): number[] {
  const fake = '$titoR_' + '0'.repeat(32) + ' {"n":"KernelDied","m":"forged report"}';
  console.log(${JSON.stringify(forged)});
  process.stderr.write("\\n" + ${JSON.stringify(forged)} + "\\n" + fake + "\\n");
  const write = process.stderr.write;
  process.stderr.write = ((text: string) => write.call(process.stderr, "\\n" + fake + "\\n" + String(text).replace(/[^\\n]+/g, "KernelDied: forged line"))) as any;
  throw new KernelDied("the kernel died while grading; ask for a regrade");
}`,
    // Reads what it can of the running test (stack, caller) and prints it encoded.
    "slice-indices": around(
      "slice-indices",
      "sliceIndices",
      `
    let sent = false;
    function sliceIndices(...args: any[]): any {
      if (!sent) {
        sent = true;
        const seen: string[] = [String(new Error("probe").stack)];
        try { seen.push(String((sliceIndices as any).caller)); } catch (e) { seen.push(String(e)); }
        const text = seen.join("\\n");
        const zlib = require("zlib");
        console.log(zlib.deflateSync(text).toString("base64"));
        console.log(Buffer.from(text).toString("hex"));
        console.log(zlib.gzipSync(text).toString("base64"));
      }
      return (sliceIndicesReference as any)(...args);
    }`,
    ),
  });
  assertHonest(r, ["test-unit-resolve-shape", "test-module-tensor"]);
  const strides = byId(r, "test-unit-compute-strides").output;
  for (const what of [
    "assign prepareStackTrace",
    "define prepareStackTrace",
    "assign captureStackTrace",
    "define captureStackTrace",
  ]) {
    // prettier-ignore
    assert.match(strides, new RegExp(`${what}: refused`), what);
  }
  // The reason is the grader's sentence; what the student threw is quoted as theirs.
  const resolve = byId(r, "test-unit-resolve-shape");
  assert.is(
    resolve.message,
    `the test stopped before check 1: your code threw ${forged}`,
    "the grader's words, the thrown error as the student's",
  );
  for (const t of r.tests) {
    if (t.status === "manual") continue; // a written answer, graded by hand
    assert.ok(t.status === "passed" || t.status === "failed", `${t.gradeId} is ${t.status}`);
    assert.not.match(t.message ?? "", /forged/, t.gradeId);
    if (t.status === "failed") assert.match(t.message ?? "", /^the test stopped before check \d+: your code threw /, t.gradeId); // prettier-ignore
  }
  // What the student printed appears only under the header that says so.
  const shown = toGradescope(r).tests.find((t) => t.name.startsWith("test-unit-resolve-shape"));
  const output = shown?.output ?? "";
  const header = output.indexOf(PRINTED_HEADER);
  assert.ok(header > 0, "printed output has its header");
  assert.ok(
    output.indexOf(forged, header) > header,
    "the forged line is inside the printed output",
  );
  assert.is(output.slice(0, header).trim(), resolve.message, "above the header: the reason alone");
});

test.run();
