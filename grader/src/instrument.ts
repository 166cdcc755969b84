// Turns a reconstructed notebook into the code cells a grading run executes. The same function
// makes the student's kernel program and the trusted reference run's program (with the
// reference solutions in the solution cells), so both sides execute identical test code:
// - a preamble first (kernel-preamble.cjs; the reference run has its own setup): the harness
//   switched to recording with this submission's seed;
// - solution cells exactly as given;
// - provided code as written; demo and comment-only cells are left out (they grade nothing);
// - each test cell without its expected values (expectations.ts), inside a block, so its own
//   declarations (and the hidden checks in them) are out of reach of later student cells, and
//   between the harness's begin and end calls, which mark what the cell recorded; each
//   `### BEGIN/END HIDDEN TESTS` line becomes a call that marks the checks after it hidden.
// Nothing here is secret: the kernel is not trusted with anything, so it is given nothing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { SourceError, type GradingManifest } from "@tinytorch-ts/core";
import { analyseCell, importSpecifiers, isCommentOnlyCell, isDemoCell } from "./cell-names";
import { blankRanges, withoutExpectations } from "./expectations";
import type { PlannedCell } from "./reconstruct";

export const HARNESS_SPEC = "tinytorch-ts/support/testing";
/** The mime type of what a grading kernel sends the grader (boundaries and records). */
export const GRADING_MIME = "application/vnd.tinytorch.grading+json";
/** The local name of the harness's grading switch in instrumented test cells. */
const G = "$titoGrading";

/** ECMAScript built-ins frozen by the preamble (with everything reachable from them). */
export const INTRINSICS = [
  "Object", "Function", "Array", "Number", "String", "Boolean", "Symbol", "BigInt", "Math",
  "JSON", "Reflect", "Proxy", "Promise", "Map", "Set", "WeakMap", "WeakSet", "WeakRef",
  "FinalizationRegistry", "Date", "RegExp", "Error", "TypeError", "RangeError", "SyntaxError",
  "ReferenceError", "EvalError", "URIError", "AggregateError", "ArrayBuffer",
  "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
  "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array",
  "BigUint64Array", "Atomics", "Intl", "isNaN", "isFinite", "parseInt", "parseFloat",
  "encodeURIComponent", "decodeURIComponent", "encodeURI", "decodeURI", "eval",
]; // prettier-ignore

/** Global names that cannot be rebound once the preamble has run. */
export const GLOBALS = [
  ...INTRINSICS,
  "NaN", "Infinity", "undefined", "globalThis", "console", "process", "Buffer", "setTimeout",
  "clearTimeout", "setInterval", "clearInterval", "setImmediate", "clearImmediate",
  "queueMicrotask", "structuredClone", "performance", "TextEncoder", "TextDecoder", "URL",
]; // prettier-ignore

export interface KernelCell {
  planned: PlannedCell;
  code: string;
  /** A test cell's names that later cells may call (declared for them at the top level). */
  forwarded?: string[];
}

const BEGIN_HIDDEN = /^([ \t]*)\/\/\s*### BEGIN HIDDEN TESTS\s*$/;
const END_HIDDEN = /^([ \t]*)\/\/\s*### END HIDDEN TESTS\s*$/;

/** The preamble's parts, sent as one cell. */
const PREAMBLE_FILE = "kernel-preamble.cjs";
let preambleText: string | undefined;

/**
 * The preamble as one function expression, `(function (module) { … })`, which sets
 * `module.exports` to `titoPreamble(kernelRequire, config)`. Exported for the tests, which run
 * exactly what the kernel runs.
 */
export function wrappedPreamble(): string {
  preambleText ??= readFileSync(join(__dirname, PREAMBLE_FILE), "utf8");
  return `(function (module) {\n"use strict";\n${preambleText}\n})`;
}

interface ManifestPlan {
  /** Grader-owned cells that run nothing a test could depend on (demos, comments): not sent. */
  skipped: Set<number>;
  /** The kernel's copy of each test cell, by manifest index. */
  tests: Map<number, string>;
  /** Each test cell with its expected values (the audit checks the reference against them). */
  fullTests: Map<number, string>;
  /** Modules the preamble loads before any student code (harness, package, libraries). */
  preload: string[];
}
const planCache = new WeakMap<GradingManifest, ManifestPlan>();

/** Whatever about a manifest's cells does not depend on the submission, worked out once. */
export function planManifest(manifest: GradingManifest): ManifestPlan {
  const cached = planCache.get(manifest);
  if (cached) return cached;
  const skipped = new Set<number>();
  const preload = new Set<string>([HARNESS_SPEC]);
  const testCells: number[] = [];
  const others: string[] = [];
  for (const c of manifest.cells) {
    if (c.cell_type !== "code") continue;
    if (c.role === "grade") testCells.push(c.index);
    else if (c.role === "solution" || c.role === "manual") others.push(c.studentSource);
    else if (isDemoCell(c.gradingSource) || isCommentOnlyCell(c.gradingSource))
      skipped.add(c.index); // prettier-ignore
    else others.push(c.gradingSource);
    if (c.role !== "solution" && c.role !== "manual") {
      for (const spec of importSpecifiers(c.gradingSource)) if (!spec.startsWith(".")) preload.add(spec); // prettier-ignore
    }
  }
  const marked = testCells.map((i) => markHidden(manifest, i));
  const stripped = withoutExpectations(marked, others);
  const plan: ManifestPlan = {
    skipped,
    tests: new Map(testCells.map((index, k) => [index, stripped[k]])),
    fullTests: new Map(testCells.map((index, k) => [index, marked[k]])),
    preload: [...preload].sort(),
  };
  planCache.set(manifest, plan);
  return plan;
}

/** The hidden-test marker lines become calls; each must sit where a statement may. */
function markHidden(manifest: GradingManifest, index: number): string {
  const cell = manifest.cells[index];
  const lines = cell.gradingSource.split("\n");
  let depth = 0;
  const out = lines.map((line, i) => {
    const begin = BEGIN_HIDDEN.exec(line);
    const end = END_HIDDEN.exec(line);
    if (!begin && !end) return line;
    depth += begin ? 1 : -1;
    if (depth < 0 || depth > 1) {
      throw new SourceError(manifest.sourceFile, undefined, `test cell "${cell.grade_id}", line ${i + 1}: unbalanced hidden-test markers`); // prettier-ignore
    }
    return `${(begin ?? end)![1]}${G}.hidden(${begin ? "true" : "false"});`;
  });
  const marked = out.join("\n");
  checkMarkersAreStatements(manifest, cell.grade_id ?? cell.id, marked);
  return marked;
}

/** A marker inside an expression would vanish with it (and hidden checks would show): refuse. */
function checkMarkersAreStatements(manifest: GradingManifest, id: string, source: string): void {
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS); // prettier-ignore
  let found = 0;
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      ts.isIdentifier(node.expression.expression) &&
      node.expression.expression.text === G
    ) {
      found++;
      const statement = node.parent;
      const ok = ts.isExpressionStatement(statement) && (ts.isBlock(statement.parent) || ts.isSourceFile(statement.parent)); // prettier-ignore
      if (!ok) {
        const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
        throw new SourceError(manifest.sourceFile, undefined, `test cell "${id}", line ${line}: a hidden-test marker must stand between statements`); // prettier-ignore
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  const expected = (source.match(new RegExp(`\\${G}\\.hidden\\(`, "g")) ?? []).length;
  if (found !== expected) {
    throw new SourceError(manifest.sourceFile, undefined, `test cell "${id}": a hidden-test marker is not where a statement may be`); // prettier-ignore
  }
}

/** The first cell every grading kernel runs (see kernel-preamble.cjs). */
export function preambleCode(manifest: GradingManifest, seed: number): string {
  const config = {
    seed,
    mime: GRADING_MIME,
    preload: planManifest(manifest).preload,
    globals: GLOBALS,
    intrinsics: INTRINSICS,
    packageMarker: "/node_modules/tinytorch-ts/",
    // tslab and ZeroMQ make up the path from a cell's source to its execution: their classes'
    // prototypes are locked (their exports objects cannot be: tslab reassigns its own).
    kernelPackages: ["/node_modules/tslab/", "/node_modules/zeromq/"],
    // Locked whole: the TypeScript build tslab compiles every cell with.
    lockedPackages: ["/node_modules/@tslab/typescript-for-tslab/"],
    // Node built-ins on the way from a cell's source to its execution (see 6b). events, stream
    // and crypto are left out: Node's own internals write to them at run time, and locking
    // them stops the kernel from replying at all.
    nodeModules: ["vm", "util", "buffer", "timers", "string_decoder"],
  };
  return [
    '"use strict";',
    "{",
    "  const holder: { exports: any } = { exports: null };",
    `  (0, eval)(${JSON.stringify(wrappedPreamble())})(holder);`,
    `  holder.exports(require, ${JSON.stringify(config)});`,
    "}",
  ].join("\n");
}

/**
 * The code cells to run after the preamble, in order. `whole` keeps each test's expected values
 * and the demo cells: the whole notebook, only for checking the reference solution against its
 * own tests and demos (`tito audit`), never for a student's kernel.
 */
export function instrument(
  manifest: GradingManifest,
  plan: PlannedCell[],
  opts: { whole?: boolean } = {},
): KernelCell[] {
  const planned = planManifest(manifest);
  const tests = opts.whole ? planned.fullTests : planned.tests;
  const skipped = opts.whole ? new Set<number>() : planned.skipped;
  const cells: KernelCell[] = [];
  for (const c of plan) {
    if (c.cellType !== "code" || skipped.has(c.index)) continue;
    if (c.role === "grade") {
      const source = tests.get(c.index) ?? c.source;
      const n = analyseCell(source);
      cells.push({ planned: c, code: testCell(c, source), forwarded: [...n.functions, ...n.values] }); // prettier-ignore
    } else {
      cells.push({ planned: c, code: c.source });
    }
  }
  return cells;
}

/** A test cell as graded: its imports first, then its body inside begin / try / end. */
function testCell(c: PlannedCell, source: string): string {
  const n = analyseCell(source);
  const imports = n.importRanges.map(([s, e]) => source.slice(s, e));
  // Later cells (testModule, a student checking their work) may call what a test cell
  // declares. They get forwarders: calling one runs the test, reading one shows nothing of it.
  const forwarded = [...n.functions, ...n.values];
  const ambient = forwarded.map((f) => `declare const ${f}: any;`);
  const functionForwarders = n.functions.map(
    (f) => `exports.${f} = ((f: any) => (...args: any[]) => f(...args))(${f});`,
  );
  const valueForwarders = n.values.map((v) => `exports.${v} = ${v};`);
  return [
    '"use strict";',
    `import { grading as ${G} } from ${JSON.stringify(HARNESS_SPEC)};`,
    ...ambient,
    ...imports,
    `${G}.begin(${JSON.stringify(c.gradeId ?? `cell-${c.index}`)});`,
    // Functions are hoisted, so their forwarders exist even if the test stops early.
    `try { ${functionForwarders.join(" ")}`,
    blankRanges(source, n.importRanges),
    ";" + valueForwarders.join(" "),
    `} catch ($titoThrown) { ${G}.abort($titoThrown); } finally { ${G}.end(); }`,
  ].join("\n");
}

/** A cell's JavaScript as tslab's converter made it (reference-program.ts's CompiledCell). */
export interface CompiledJs {
  js: string;
  async: boolean;
  lastExpression: string | null;
}

/**
 * A test cell as the kernel runs it when its JavaScript is compiled already: the module's
 * reference compile pass compiles every test cell once, with tslab's own converter, and the
 * kernel then type-checks only this short cell. It runs that JavaScript exactly as tslab runs a
 * cell (a function of tslab's `exports` and `require`), and declares the names later cells may
 * call, as the test cell does. Test cells are most of a notebook's code, and they are the kit's:
 * compiling them in every kernel cost most of a submission's time. (What the student wrote is
 * still compiled, and type-checked, by the kernel itself.)
 */
export function precompiledTestCell(cell: KernelCell, compiled: CompiledJs): string {
  const forget = compiled.lastExpression ? `\ndelete exports[${JSON.stringify(compiled.lastExpression)}];` : ""; // prettier-ignore
  const prefix = compiled.async ? "(async function(exports, require) { " : "(function(exports, require) { "; // prettier-ignore
  const wrapped = `${prefix}${compiled.js}${forget}\n})(__tslab__.exports, __tslab__.require)`;
  return [
    '"use strict";',
    ...(cell.forwarded ?? []).map((f) => `declare const ${f}: any;`),
    // tslab finds a cell's top-level await by TypeScript's diagnostic for it, which it reads
    // only in this form (not for `await (0, eval)(…)`): without it the await would be a name.
    compiled.async ? `await Promise.resolve((0, eval)(${JSON.stringify(wrapped)}));` : `(0, eval)(${JSON.stringify(wrapped)});`, // prettier-ignore
  ].join("\n");
}
