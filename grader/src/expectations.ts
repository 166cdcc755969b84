// The test code a grading kernel receives carries no expected values. A kernel is assumed to be
// fully compromised, so whatever it holds it could copy into what it reports: if a test computed
// `expected` inside the kernel, a forged record could simply repeat it. The grader does not need
// it either: it compares what the student's code produced with what the reference solution
// produced on the same inputs, in a run the kernel never sees. So, for the kernel's copy of each
// test cell:
// - the expected argument of every assertEqual / assertClose / assertShape call is replaced by
//   `undefined` (the harness records the actual value only);
// - declarations that nothing uses any more (`const want = oracle(x)`, the oracle function
//   itself) are removed, repeatedly, so expected values computed ahead of the assertion and the
//   helpers that computed them are not sent either, as long as computing them calls only the
//   test's own functions and pure built-ins (a call into the notebook's code may have effects
//   that later checks rely on: that declaration stays).
// The same stripped cells run in the trusted reference run, so both sides execute identical
// test code. Both steps are pure text transforms that keep every line where it was (removed
// text becomes spaces), so compiler messages still point at the right lines.
import ts from "typescript";
import { analyseCell, declaredNames } from "./cell-names";

/** Harness assertions whose second argument is an expected value, by exported name. */
export const EXPECTED_ARGUMENT: Readonly<Record<string, number>> = {
  assertEqual: 1,
  assertClose: 1,
  assertShape: 1,
  assertPrediction: 1,
};

const HARNESS = "tinytorch-ts/support/testing";

/** Local names (and namespace names) under which a set of cells imports the harness. */
export interface HarnessNames {
  /** local name -> index of its expected argument */
  direct: Map<string, number>;
  /** namespace imports of the harness (`import * as t from …`) */
  namespaces: Set<string>;
}

function parse(source: string): ts.SourceFile {
  return ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** How the harness is imported across the given cells (aliases included). */
export function harnessNames(sources: string[]): HarnessNames {
  const names: HarnessNames = { direct: new Map(), namespaces: new Set() };
  for (const source of sources) {
    for (const st of parse(source).statements) {
      if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
      if (st.moduleSpecifier.text !== HARNESS || !st.importClause) continue;
      const nb = st.importClause.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) names.namespaces.add(nb.name.text);
      if (nb && ts.isNamedImports(nb)) {
        for (const el of nb.elements) {
          const at = EXPECTED_ARGUMENT[(el.propertyName ?? el.name).text];
          if (at !== undefined) names.direct.set(el.name.text, at);
        }
      }
    }
  }
  return names;
}

/** Replaces text ranges by `replacement` (first range only) and spaces, keeping newlines. */
export function blankRanges(source: string, ranges: Array<[number, number, string?]>): string {
  let out = source;
  for (const [start, end, replacement = ""] of [...ranges].sort((a, b) => b[0] - a[0])) {
    const old = out.slice(start, end);
    const kept = old.replace(/[^\n]/g, " ");
    // The replacement goes where the old text began; the rest keeps its line breaks.
    const firstLine = kept.indexOf("\n");
    const head = firstLine < 0 ? kept : kept.slice(0, firstLine);
    const merged =
      replacement.length <= head.length
        ? replacement + kept.slice(replacement.length)
        : replacement + kept.slice(head.length);
    out = out.slice(0, start) + merged + out.slice(end);
  }
  return out;
}

function expectedIndex(call: ts.CallExpression, names: HarnessNames): number | undefined {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return names.direct.get(callee.text);
  if (
    ts.isPropertyAccessExpression(callee) &&
    ts.isIdentifier(callee.expression) &&
    names.namespaces.has(callee.expression.text)
  ) {
    return EXPECTED_ARGUMENT[callee.name.text];
  }
  return undefined;
}

/** Step 1: the expected argument of each harness assertion becomes `undefined`. */
export function stripExpectedArguments(source: string, names: HarnessNames): string {
  const file = parse(source);
  const ranges: Array<[number, number, string]> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const at = expectedIndex(node, names);
      const arg = at === undefined ? undefined : node.arguments[at];
      if (arg) {
        ranges.push([arg.getStart(file), arg.getEnd(), "undefined as any"]);
        // Calls nested inside the removed argument go with it.
        ts.forEachChild(node, (c) => (c === arg ? undefined : visit(c)));
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return blankRanges(source, ranges);
}

/** Names a declaration introduces (binding patterns included). */
function boundNames(name: ts.BindingName, out: string[]): string[] {
  if (ts.isIdentifier(name)) out.push(name.text);
  else for (const el of name.elements) if (ts.isBindingElement(el)) boundNames(el.name, out);
  return out;
}

/** True when an identifier is a declaration's own name or a property name, not a use. */
function isDeclarationName(id: ts.Identifier): boolean {
  const p = id.parent;
  if (!p) return false;
  if (
    (ts.isVariableDeclaration(p) ||
      ts.isFunctionDeclaration(p) ||
      ts.isClassDeclaration(p) ||
      ts.isParameter(p) ||
      ts.isBindingElement(p) ||
      ts.isPropertyAssignment(p) ||
      ts.isMethodDeclaration(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isPropertySignature(p) ||
      ts.isGetAccessorDeclaration(p) ||
      ts.isSetAccessorDeclaration(p)) &&
    (p as { name?: ts.Node }).name === id
  ) {
    return true;
  }
  if (ts.isBindingElement(p) && p.propertyName === id) return true;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return true;
  if (ts.isQualifiedName(p) && p.right === id) return true;
  return false;
}

/** How many times each name is used (not declared) in the given sources. */
export function countUses(sources: string[]): Map<string, number> {
  const uses = new Map<string, number>();
  for (const source of sources) {
    const file = parse(source);
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && !isDeclarationName(node)) {
        uses.set(node.text, (uses.get(node.text) ?? 0) + 1);
      }
      // Shorthand `{ want }` uses `want`.
      if (ts.isShorthandPropertyAssignment(node)) {
        uses.set(node.name.text, (uses.get(node.name.text) ?? 0) + 1);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return uses;
}

/** Globals whose functions and constructors touch nothing of the notebook. */
const PURE_GLOBALS = new Set([
  "Math", "Number", "Array", "Object", "JSON", "String", "Boolean", "BigInt", "Float32Array",
  "Float64Array", "Int8Array", "Uint8Array", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Map", "Set", "isFinite", "isNaN", "parseFloat", "parseInt",
]); // prettier-ignore

/** The identifier a call or `new` starts from: `a` of `a(…)`, `a.b.c(…)`, `new a.B(…)`. */
function calleeRoot(e: ts.Expression): string | undefined {
  let x: ts.Expression = e;
  while (ts.isPropertyAccessExpression(x) || ts.isElementAccessExpression(x)) x = x.expression;
  return ts.isIdentifier(x) ? x.text : undefined;
}

/**
 * True when computing `node` can only call the test's own helpers and pure built-ins. Removing
 * such a declaration changes nothing but the expected value it held; a call into the notebook
 * (a solution, provided code, a student's object: `randn()` advances a generator,
 * `layer.forward()` may draw a dropout mask) has effects later checks depend on, so a
 * declaration that makes one stays.
 */
function onlyPureCalls(node: ts.Node, testFunctions: ReadonlySet<string>): boolean {
  let pure = true;
  const visit = (n: ts.Node): void => {
    if (!pure) return;
    if (ts.isCallExpression(n) || ts.isNewExpression(n)) {
      const root = calleeRoot(n.expression);
      if (root === undefined || (!testFunctions.has(root) && !PURE_GLOBALS.has(root))) {
        pure = false;
        return;
      }
    }
    if (ts.isTaggedTemplateExpression(n) || ts.isAwaitExpression(n) || ts.isYieldExpression(n)) pure = false; // prettier-ignore
    ts.forEachChild(n, visit);
  };
  visit(node);
  return pure;
}

/** Functions the test cells declare (oracles and helpers), at any depth. */
function testFunctionNames(sources: string[]): Set<string> {
  const out = new Set<string>();
  for (const source of sources) {
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionDeclaration(n) && n.name) out.add(n.name.text);
      ts.forEachChild(n, visit);
    };
    visit(parse(source));
  }
  return out;
}

/** Declarations in a test cell that nothing uses: their statement ranges. */
function unusedDeclarations(
  source: string,
  uses: Map<string, number>,
  testFunctions: ReadonlySet<string>,
): Array<[number, number]> {
  const file = parse(source);
  const ranges: Array<[number, number]> = [];
  const unused = (names: string[]) => names.length > 0 && names.every((n) => !uses.get(n));
  const visit = (node: ts.Node): void => {
    if (ts.isVariableStatement(node)) {
      const names = node.declarationList.declarations.flatMap((d) => boundNames(d.name, []));
      if (unused(names) && onlyPureCalls(node, testFunctions)) {
        ranges.push([node.getStart(file), node.getEnd()]);
        return;
      }
    }
    if (ts.isFunctionDeclaration(node) && node.name && unused([node.name.text])) {
      ranges.push([node.getStart(file), node.getEnd()]);
      return;
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(file, visit);
  return ranges;
}

/**
 * The kernel's copy of a notebook's test cells: expected arguments stripped, then declarations
 * nothing uses removed until none is left. `others` are the sources of every other cell the
 * kernel runs (provided code, solution stubs): a name they use is kept.
 */
export function withoutExpectations(tests: string[], others: string[]): string[] {
  const names = harnessNames([...tests, ...others]);
  let current = tests.map((s) => stripExpectedArguments(s, names));
  const otherUses = countUses(others);
  // A name the notebook's own cells declare is theirs, even if a test declares one like it.
  const notebookNames = new Set(others.flatMap((s) => declaredNames(analyseCell(s))));
  const testFunctions = new Set([...testFunctionNames(tests)].filter((n) => !notebookNames.has(n))); // prettier-ignore
  for (let round = 0; round < 50; round++) {
    const uses = countUses(current);
    for (const [name, n] of otherUses) uses.set(name, (uses.get(name) ?? 0) + n);
    let changed = false;
    current = current.map((s) => {
      const ranges = unusedDeclarations(s, uses, testFunctions);
      if (ranges.length === 0) return s;
      changed = true;
      return blankRanges(s, ranges);
    });
    if (!changed) break;
  }
  return current;
}
