// Turns a reconstructed notebook into the code cells the grading kernel runs:
// - a preamble first (kernel-preamble.cjs): harness loaded, built-ins frozen, exits closed, vault;
// - student solution cells exactly as submitted;
// - grader-owned code cells (provided code, demos) as written, plus a line that files their
//   functions, classes and constants in the vault under a per-submission secret token;
// - each grade cell in strict mode inside a block, so the test's own declarations (and the hidden
//   checks in them) are not reachable from later student cells, with every name the test uses
//   bound first to a value the student cannot have replaced: built-ins from the preamble's
//   snapshot, harness and package imports re-imported (the module system is locked), earlier
//   tests and helpers from the vault. Names the exercise asks the student to define stay theirs.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { GradingManifest } from "@tinytorch-ts/core";
import {
  analyseCell,
  declaredNames,
  importSpecifiers,
  isCommentOnlyCell,
  isDemoCell,
  type CellNames,
} from "./cell-names";
import type { PlannedCell } from "./reconstruct";

export const HARNESS_SPEC = "tinytorch-ts/support/testing";

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

/** Global names a test may use: bound from the preamble's snapshot in every grade cell. */
export const GLOBALS = [
  ...INTRINSICS,
  "NaN", "Infinity", "undefined", "globalThis", "console", "process", "Buffer", "setTimeout",
  "clearTimeout", "setInterval", "clearInterval", "setImmediate", "clearImmediate",
  "queueMicrotask", "structuredClone", "performance", "TextEncoder", "TextDecoder", "URL",
]; // prettier-ignore
const GLOBAL_SET = new Set(GLOBALS);

export interface KernelCell {
  planned: PlannedCell;
  code: string;
}

/**
 * The per-kernel secrets: the vault's global name and the token each grader-owned code cell
 * files its names under. Made when the kernel is prepared (before the submission is known), so
 * the preamble can run ahead of time.
 */
export interface GradingKeys {
  vaultName: string;
  /** Token by manifest cell index. */
  tokens: Map<number, string>;
  /**
   * Starts each failure report the preamble writes for a test cell (see
   * kernel-preamble-values.cjs); never reachable by student code, so no cell can forge one.
   */
  reportKey: string;
}

/** The preamble's parts, sent as one cell in this order (see kernel-preamble-values.cjs). */
const PREAMBLE_FILES = ["kernel-preamble.cjs", "kernel-preamble-values.cjs"];
let preambleText: string | undefined;

/**
 * The preamble as one function expression, `(function (module) { … })`, which sets
 * `module.exports` to `titoPreamble(kernelRequire, config)`. Exported for the tests, which run
 * exactly what the kernel runs.
 */
export function wrappedPreamble(): string {
  preambleText ??= PREAMBLE_FILES.map((f) => readFileSync(join(__dirname, f), "utf8")).join("\n");
  return `(function (module) {\n"use strict";\n${preambleText}\n})`;
}

interface ManifestAnalysis {
  names: Array<CellNames | null>;
  preload: string[];
  /** Grader-owned cells that run nothing a test could depend on (demos, comments): not sent. */
  skipped: Set<number>;
}
const analysisCache = new WeakMap<GradingManifest, ManifestAnalysis>();

/** What each manifest cell declares: solution cells as the exercise stub declares them. */
function analyseManifest(manifest: GradingManifest): ManifestAnalysis {
  const cached = analysisCache.get(manifest);
  if (cached) return cached;
  const preload = new Set<string>([HARNESS_SPEC]);
  const skipped = new Set<number>();
  const names = manifest.cells.map((c) => {
    if (c.cell_type !== "code") return null;
    if (c.role !== "solution" && c.role !== "grade") {
      // Each cell sent costs a full type-check and compile in tslab.
      if (isDemoCell(c.gradingSource) || isCommentOnlyCell(c.gradingSource)) skipped.add(c.index);
    }
    if (c.role !== "solution") {
      for (const spec of importSpecifiers(c.gradingSource)) {
        if (!spec.startsWith(".")) preload.add(spec);
      }
    }
    return analyseCell(c.role === "solution" ? c.studentSource : c.gradingSource);
  });
  const result = { names, preload: [...preload].sort(), skipped };
  analysisCache.set(manifest, result);
  return result;
}

function importStatement(local: string, imported: string, spec: string): string {
  const from = JSON.stringify(spec);
  if (imported === "=") return `import ${local} = require(${from});`;
  if (imported === "*") return `import * as ${local} from ${from};`;
  if (imported === "default") return `import ${local} from ${from};`;
  return imported === local
    ? `import { ${local} } from ${from};`
    : `import { ${imported} as ${local} } from ${from};`;
}

function blankRanges(source: string, ranges: Array<[number, number]>): string {
  let out = source;
  for (const [start, end] of [...ranges].sort((a, b) => b[0] - a[0])) {
    out = out.slice(0, start) + out.slice(start, end).replace(/[^\n]/g, " ") + out.slice(end);
  }
  return out;
}

function registration(vault: string, token: string, names: string[]): string {
  return names.length === 0
    ? ""
    : `${vault}.reg(${JSON.stringify(token)}, { ${names.join(", ")} });`;
}

/** Fresh secrets for one kernel (tests pass a deterministic random source). */
export function makeKeys(
  manifest: GradingManifest,
  random: () => string = () => randomBytes(16).toString("hex"),
): GradingKeys {
  const tokens = new Map<number, string>();
  for (const c of manifest.cells) {
    if (c.cell_type === "code" && c.role !== "solution") tokens.set(c.index, random());
  }
  return { vaultName: `$titoV_${random()}`, tokens, reportKey: `$titoR_${random()}` };
}

/** The first cell every grading kernel runs (see kernel-preamble.cjs). */
export function preambleCode(manifest: GradingManifest, keys: GradingKeys): string {
  const config = {
    vaultName: keys.vaultName,
    tokens: [...keys.tokens.values()],
    reportKey: keys.reportKey,
    preload: analyseManifest(manifest).preload,
    globals: GLOBALS,
    intrinsics: INTRINSICS,
    packageMarker: "/node_modules/tinytorch-ts/",
    // tslab and ZeroMQ make up the reply path: their classes' prototypes are locked (their
    // exports objects cannot be: tslab reassigns its own, e.g. lastWriteDisplayData).
    kernelPackages: ["/node_modules/tslab/", "/node_modules/zeromq/"],
    // Locked whole: the TypeScript build tslab compiles every cell with.
    lockedPackages: ["/node_modules/@tslab/typescript-for-tslab/"],
    // Node built-ins on the way from a cell's code to its reply (see 6b). events, stream and
    // crypto are left out: Node's own internals write to them at run time, and locking them
    // stops the kernel from replying at all; they only carry messages already decided.
    nodeModules: ["vm", "util", "buffer", "timers", "string_decoder"],
  };
  const wrapped = wrappedPreamble();
  return [
    '"use strict";',
    "{",
    "  const holder: { exports: any } = { exports: null };",
    `  (0, eval)(${JSON.stringify(wrapped)})(holder);`,
    `  holder.exports(require, ${JSON.stringify(config)});`,
    "}",
  ].join("\n");
}

/** The code cells to run after the preamble, in order. */
export function instrument(
  manifest: GradingManifest,
  plan: PlannedCell[],
  keys: GradingKeys,
): KernelCell[] {
  const { names, skipped } = analyseManifest(manifest);
  const vault = keys.vaultName;
  const tokens = keys.tokens;
  const declare = `declare const ${vault}: { g: typeof globalThis; get(token: string): any; reg(token: string, values: object): void; begin(token: string): void; fail(token: string, thrown: unknown): Error };`;

  // For each name, the latest cell so far that declares it (as the manifest has it).
  const owner = new Map<string, { index: number; kind: "import" | "function" | "value"; imp?: { imported: string; spec: string } }>(); // prettier-ignore
  const cells: KernelCell[] = [];
  for (const c of plan) {
    if (c.cellType !== "code") continue;
    const n = names[c.index];
    if (c.role === "solution") {
      cells.push({ planned: c, code: c.source });
    } else if (c.role === "grade") {
      cells.push({ planned: c, code: gradeCell(c, n ?? analyseCell(c.source)) });
    } else if (skipped.has(c.index)) {
      continue;
    } else {
      cells.push({ planned: c, code: providedCell(c, n ?? analyseCell(c.source)) });
    }
    if (n) {
      for (const f of n.functions) owner.set(f, { index: c.index, kind: "function" });
      for (const v of n.values) owner.set(v, { index: c.index, kind: "value" });
      for (const i of n.imports) owner.set(i.local, { index: c.index, kind: "import", imp: i });
    }
  }

  function providedCell(c: PlannedCell, n: CellNames): string {
    const token = tokens.get(c.index) ?? "";
    // Functions are hoisted, so they are filed first (even if the cell fails later).
    return [
      declare,
      registration(vault, token, n.functions),
      c.source,
      ";" + registration(vault, token, [...n.values, ...n.imports.map((i) => i.local)]),
    ].join("\n");
  }

  function gradeCell(c: PlannedCell, n: CellNames): string {
    const token = tokens.get(c.index) ?? "";
    const own = new Set(declaredNames(n));
    const imports: string[] = n.importRanges.map(([s, e]) => c.source.slice(s, e));
    const bindings: string[] = [];
    const fromGlobals: string[] = [];
    const typeAliases: string[] = [];
    for (const name of [...n.valueRefs].sort()) {
      if (own.has(name)) continue;
      const o = owner.get(name);
      const role = o && plan.find((p) => p.index === o.index)?.role;
      if (o && role !== "solution" && o.kind === "import" && o.imp) {
        imports.push(importStatement(name, o.imp.imported, o.imp.spec));
      } else if (o && role !== undefined && role !== "solution") {
        const t = JSON.stringify(tokens.get(o.index) ?? "");
        if (role === "grade") {
          // Declared inside an earlier test's block: only the vault has it (typed any).
          bindings.push(`const { ${name} } = ${vault}.get(${t});`);
        } else {
          // A provided cell's declaration is also in tslab's shared declarations, so its type
          // can be captured outside the block (where the name still means that declaration)
          // and a class bound here keeps working in `extends` and in type positions.
          typeAliases.push(`type $titoT_${name} = typeof ${name};`);
          bindings.push(`const ${name}: $titoT_${name} = ${vault}.get(${t}).${name};`);
        }
      } else if (!o && GLOBAL_SET.has(name)) {
        fromGlobals.push(name);
      }
    }
    if (fromGlobals.length > 0)
      bindings.unshift(`const { ${fromGlobals.join(", ")} } = ${vault}.g;`);
    // Later student cells may call a test function by name (to re-check their work): they get
    // a forwarder, whose source shows nothing of the test.
    const forwarders = n.functions.map(
      (f) => `exports.${f} = (...args: any[]) => (${f} as any)(...args);`,
    );
    const ambient = n.functions.map((f) => `declare const ${f}: (...args: any[]) => any;`);
    // The test runs inside try: whatever it throws, the preamble's reporter (begun before
    // anything else in the cell, while stderr is still tslab's) writes the failure reason the
    // grader shows, made from primitives only.
    const t = JSON.stringify(token);
    return [
      '"use strict";',
      declare,
      `${vault}.begin(${t});`,
      ...ambient,
      ...imports,
      ...typeAliases,
      "try {",
      ...bindings,
      registration(vault, token, n.functions),
      blankRanges(c.source, n.importRanges),
      ";" + registration(vault, token, n.values),
      ...forwarders,
      `} catch ($titoThrown) { throw ${vault}.fail(${t}, $titoThrown); }`,
    ].join("\n");
  }

  return cells;
}
