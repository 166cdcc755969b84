// A module may import only earlier modules, and only through the package by path
// ("tinytorch-ts/core/tensor"): that is the order students build them in, and it keeps the
// package free of cycles. Imports are found with the TypeScript parser in every code cell
// (import/export-from declarations, `import x = require()`, `require()` and `import()` calls).
// Relative imports are rejected too: a notebook runs from notebooks/, the package from
// tinytorch-ts/dist/, so a relative path cannot mean the same file in both.
import { SourceError } from "../notebook/errors";
import type { Notebook } from "../notebook/types";
import { typescript } from "./cell-code";
import { PACKAGE_NAME, packagePathOf } from "./package-paths";
import type * as TS from "typescript";

export interface PackageImport {
  /** The package path imported: "core/tensor", "support/testing", or "" for the bare package. */
  path: string;
  /** 1-based line in the module source. */
  line: number;
  /** A relative specifier ("./x", "../src/core/tensor"), which `path` then holds verbatim. */
  relative?: boolean;
}

function specifiersIn(ts: typeof TS, sf: TS.SourceFile): { text: string; pos: number }[] {
  const found: { text: string; pos: number }[] = [];
  const add = (node: TS.Expression | undefined) => {
    if (node && ts.isStringLiteralLike(node))
      found.push({ text: node.text, pos: node.getStart(sf) });
  };
  const visit = (node: TS.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isExternalModuleReference(node)) add(node.expression);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      if (isRequire || callee.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Every import of the package in the module's code cells, with its source line. */
export function findPackageImports(
  nb: Notebook,
  cellLine: (cellIndex: number) => number,
): PackageImport[] {
  const ts = typescript();
  const out: PackageImport[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    if (!cell.source.includes(PACKAGE_NAME) && !/["']\.\.?\//.test(cell.source)) return;
    const sf = ts.createSourceFile("cell.ts", cell.source, ts.ScriptTarget.ES2022, true);
    for (const s of specifiersIn(ts, sf)) {
      const line = cellLine(i) + sf.getLineAndCharacterOfPosition(s.pos).line;
      if (s.text.startsWith("./") || s.text.startsWith("../")) {
        out.push({ path: s.text, line, relative: true });
        continue;
      }
      const path = packagePathOf(s.text);
      if (path === undefined) continue;
      out.push({ path, line });
    }
  });
  return out;
}

export interface ModuleImportInfo {
  /** "01" */
  number: string;
  /** "01_tensor" */
  module: string;
  sourceFile: string;
  /** Package paths this module writes. */
  targets: string[];
  imports: PackageImport[];
  /** Package files this module's default file loads at its end (`//| extended_by`). */
  extendedBy?: { path: string; line: number }[];
  /** Package paths imported by the cells that go to the package (not notebook-only cells). */
  exportedImports?: PackageImport[];
}

/** Checks every module's imports against the modules before it; returns all problems. */
export function checkImports(modules: ModuleImportInfo[], supportPaths: string[]): SourceError[] {
  const owner = new Map<string, ModuleImportInfo>();
  const errors: SourceError[] = [];
  for (const m of modules) {
    for (const t of m.targets) {
      const other = owner.get(t);
      if (other && other !== m) {
        errors.push(
          new SourceError(
            m.sourceFile,
            undefined,
            `exports to ${t}, which ${other.module} already writes`,
          ),
        );
      } else owner.set(t, m);
    }
  }
  for (const m of modules) {
    for (const imp of m.imports) {
      const problem = imp.relative
        ? `relative import '${imp.path}': import earlier modules through the package, e.g. '${PACKAGE_NAME}/core/tensor'`
        : importProblem(m, imp.path, owner, supportPaths);
      if (problem) errors.push(new SourceError(m.sourceFile, imp.line, problem));
    }
    for (const ext of m.extendedBy ?? []) {
      const problem = extensionProblem(m, ext.path, owner);
      if (problem) errors.push(new SourceError(m.sourceFile, ext.line, problem));
      else errors.push(...extensionImportProblems(m, ext.path, owner));
    }
  }
  return errors;
}

function importProblem(
  m: ModuleImportInfo,
  path: string,
  owner: Map<string, ModuleImportInfo>,
  supportPaths: string[],
): string | undefined {
  const spec = path ? `${PACKAGE_NAME}/${path}` : PACKAGE_NAME;
  if (path === "")
    return `import '${spec}' by file path instead, e.g. '${PACKAGE_NAME}/core/tensor'`;
  if (supportPaths.includes(path)) return undefined;
  const from = owner.get(path);
  if (!from) return `'${spec}' is not exported by any module (nor is it kit support)`;
  if (from === m) return `'${spec}' is this module's own package file: use the cells above instead`;
  if (from.number >= m.number) {
    return `'${spec}' comes from ${from.module}, a later module: a module may import only earlier modules`;
  }
  return undefined;
}

/** An extension must be a file that a LATER module writes: earlier ones are imported instead. */
function extensionProblem(
  m: ModuleImportInfo,
  path: string,
  owner: Map<string, ModuleImportInfo>,
): string | undefined {
  const from = owner.get(path);
  const spec = `${PACKAGE_NAME}/${path}`;
  if (!from) return `extended_by '${spec}': no module exports it`;
  if (from.number <= m.number) {
    return `extended_by '${spec}': ${from.module} is not a later module (import earlier modules instead)`;
  }
  return undefined;
}

/**
 * The extended file loads its extension for every module that imports it, including the
 * modules between the two. The grader's scratch package for such a module lacks that module's
 * own file, so an extension may import only what the extended file's module could.
 */
function extensionImportProblems(
  base: ModuleImportInfo,
  path: string,
  owner: Map<string, ModuleImportInfo>,
): SourceError[] {
  const ext = owner.get(path);
  if (!ext) return [];
  const errors: SourceError[] = [];
  for (const imp of ext.exportedImports ?? []) {
    const from = owner.get(imp.path);
    if (!from || from.number <= base.number) continue;
    errors.push(
      new SourceError(
        ext.sourceFile,
        imp.line,
        `'${PACKAGE_NAME}/${imp.path}' (${from.module}) cannot be imported by the package file ` +
          `${path}, which extends ${base.targets[0] ?? "a file"} of ${base.module}: an extension ` +
          `may import only modules up to ${base.module}, or it would be missing where the ` +
          `grader loads it for ${from.module}`,
      ),
    );
  }
  return errors;
}
