// What a cell declares and what it uses, read with the TypeScript parser. The grader needs this
// to bind, in each test cell, the names the test relies on to values the student cannot replace
// (tslab shares top-level names between cells through one mutable object, so a later cell can
// redeclare `assertEqual`, `Math` or `testUnitReLU`).
import ts from "typescript";

export interface ImportBinding {
  /** The local name. */
  local: string;
  /** What is imported: a name, "default", "*" (namespace) or "=" (import x = require()). */
  imported: string;
  spec: string;
}

export interface CellNames {
  /** Top-level names declared by functions (hoisted, so usable before the cell finishes). */
  functions: string[];
  /** Other top-level value declarations: classes, const/let/var (incl. destructuring), enums. */
  values: string[];
  /** Import bindings, each with its import statement. */
  imports: ImportBinding[];
  /** Text ranges [start, end) of top-level import statements. */
  importRanges: Array<[number, number]>;
  /** Identifiers used as values (not property names, not in type positions). */
  valueRefs: Set<string>;
  /** Identifiers used in type positions. */
  typeRefs: Set<string>;
}

function bindingNames(name: ts.BindingName, out: string[]): void {
  if (ts.isIdentifier(name)) {
    out.push(name.text);
    return;
  }
  for (const el of name.elements) {
    if (ts.isBindingElement(el)) bindingNames(el.name, out);
  }
}

/** True when `node` is a name that is not a reference (declaration names, property keys). */
function isNonReferenceName(node: ts.Identifier): boolean {
  const p = node.parent;
  if (!p) return false;
  if (ts.isPropertyAccessExpression(p) && p.name === node) return true;
  if (ts.isQualifiedName(p) && p.right === node) return true;
  if (
    (ts.isPropertyAssignment(p) ||
      ts.isMethodDeclaration(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isGetAccessorDeclaration(p) ||
      ts.isSetAccessorDeclaration(p) ||
      ts.isPropertySignature(p) ||
      ts.isMethodSignature(p) ||
      ts.isEnumMember(p)) &&
    p.name === node
  ) {
    return true;
  }
  if (ts.isBindingElement(p) && p.propertyName === node) return true;
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return true;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) return true;
  return false;
}

export function analyseCell(source: string): CellNames {
  const file = ts.createSourceFile(
    "cell.ts",
    source,
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  );
  const names: CellNames = {
    functions: [],
    values: [],
    imports: [],
    importRanges: [],
    valueRefs: new Set(),
    typeRefs: new Set(),
  };
  for (const st of file.statements) {
    if (ts.isFunctionDeclaration(st) && st.name && st.body) names.functions.push(st.name.text);
    else if (ts.isClassDeclaration(st) && st.name) names.values.push(st.name.text);
    else if (ts.isEnumDeclaration(st)) names.values.push(st.name.text);
    else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) bindingNames(d.name, names.values);
    } else if (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st)) {
      names.importRanges.push([st.getStart(file), st.getEnd()]);
      const add = (local: string, imported: string, spec: string) =>
        names.imports.push({ local, imported, spec });
      if (ts.isImportEqualsDeclaration(st)) {
        const ref = st.moduleReference;
        if (ts.isExternalModuleReference(ref) && ts.isStringLiteral(ref.expression)) {
          add(st.name.text, "=", ref.expression.text);
        }
      } else if (
        ts.isStringLiteral(st.moduleSpecifier) &&
        st.importClause &&
        !st.importClause.isTypeOnly
      ) {
        const spec = st.moduleSpecifier.text;
        const clause = st.importClause;
        if (clause.name) add(clause.name.text, "default", spec);
        const nb = clause.namedBindings;
        if (nb && ts.isNamespaceImport(nb)) add(nb.name.text, "*", spec);
        if (nb && ts.isNamedImports(nb)) {
          for (const el of nb.elements) {
            if (!el.isTypeOnly) add(el.name.text, (el.propertyName ?? el.name).text, spec);
          }
        }
      }
    }
  }
  const walk = (node: ts.Node, inType: boolean): void => {
    // `class A extends B` parses B as a type node, but B is a value there.
    const heritageValue =
      ts.isExpressionWithTypeArguments(node) &&
      ts.isHeritageClause(node.parent) &&
      node.parent.token === ts.SyntaxKind.ExtendsKeyword &&
      ts.isClassLike(node.parent.parent);
    const typeHere = !heritageValue && (inType || ts.isTypeNode(node));
    if (ts.isIdentifier(node) && !isNonReferenceName(node)) {
      (typeHere ? names.typeRefs : names.valueRefs).add(node.text);
    }
    // `typeof x` in a type position refers to the value x.
    if (ts.isTypeQueryNode(node)) {
      ts.forEachChild(node, (c) => walk(c, false));
      return;
    }
    ts.forEachChild(node, (c) => walk(c, typeHere));
  };
  walk(file, false);
  return names;
}

/** True for a top-level `demo(...)` or `await demo(...)` statement (the harness's demo). */
function isDemoStatement(st: ts.Statement): boolean {
  if (!ts.isExpressionStatement(st)) return false;
  let e = st.expression;
  if (ts.isAwaitExpression(e)) e = e.expression;
  return ts.isCallExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === "demo";
}

/**
 * True for a demo cell: nothing but calls of the harness's `demo(...)`, awaited or not. A demo
 * shows the student something (a timing, a chart) and grades nothing, so the grader skips it:
 * the 01_tensor loop-order demo alone costs ~2 s of CPU per submission. A cell that also
 * declares or does anything else is not a demo and is run as usual.
 */
export function isDemoCell(source: string): boolean {
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS); // prettier-ignore
  return file.statements.length > 0 && file.statements.every(isDemoStatement);
}

/**
 * True for a cell that calls `demo(...)` beside other code: the grader must run such a cell (it
 * declares or does something), demo included, in every submission's kernel. The audit rejects
 * it: the demo belongs in a cell of its own (14_profiling's batch sweep cost 3.7 s per grading).
 */
export function isDemoBesideOtherCode(source: string): boolean {
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS); // prettier-ignore
  const demos = file.statements.filter(isDemoStatement).length;
  return demos > 0 && demos < file.statements.length;
}

/** True for a cell with nothing to run: only comments (such as `//| default_exp`) or blanks. */
export function isCommentOnlyCell(source: string): boolean {
  const file = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS); // prettier-ignore
  return file.statements.length === 0;
}

/** Every top-level name a cell declares. */
export function declaredNames(n: CellNames): string[] {
  return [...n.functions, ...n.values, ...n.imports.map((i) => i.local)];
}

/** Module specifiers of a cell's import statements (what the preamble must load first). */
export function importSpecifiers(source: string): string[] {
  const file = ts.createSourceFile(
    "cell.ts",
    source,
    ts.ScriptTarget.Latest,
    false,
    ts.ScriptKind.TS,
  );
  const out: string[] = [];
  for (const st of file.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      if (st.importClause?.isTypeOnly) continue;
      out.push(st.moduleSpecifier.text);
    } else if (
      ts.isImportEqualsDeclaration(st) &&
      ts.isExternalModuleReference(st.moduleReference) &&
      ts.isStringLiteral(st.moduleReference.expression)
    ) {
      out.push(st.moduleReference.expression.text);
    }
  }
  return out;
}
