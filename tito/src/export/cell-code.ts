// Prepares one `//| export` cell for the package, with the TypeScript compiler's parser so that
// strings, comments and nested declarations cannot fool it:
// - its import declarations are taken out (the file hoists and merges them at the top);
// - with `export`, each top-level declaration (class, function, const/let/var, interface, type,
//   enum, namespace) gets the `export` keyword, which tslab cells cannot carry themselves;
// - the leading `//| ...` directive lines and solution marker lines are dropped.
import { readFileSync } from "node:fs";
import Module from "node:module";
import { dirname } from "node:path";
import type * as TS from "typescript";
import { SourceError } from "@tinytorch-ts/core";
import { isDirectiveLine } from "@tinytorch-ts/core/notebook";

let tsModule: typeof TS | undefined;

interface NodeModuleInternals {
  new (
    id: string,
    parent?: unknown,
  ): {
    filename: string;
    paths: string[];
    exports: unknown;
    _compile(code: string, file: string): void;
  };
  _nodeModulePaths(dir: string): string[];
}

/**
 * typescript is loaded on first use: a build where nothing changed never needs it. tito runs
 * under tsx, whose require hook scans every .js file for ESM syntax; for typescript.js (9 MB)
 * that doubles the load time, so the file is compiled directly with Node's own module loader.
 */
export function typescript(): typeof TS {
  if (tsModule) return tsModule;
  const file = require.resolve("typescript");
  try {
    const NodeModule = Module as unknown as NodeModuleInternals;
    const m = new NodeModule(file, module);
    m.filename = file;
    m.paths = NodeModule._nodeModulePaths(dirname(file));
    m._compile(readFileSync(file, "utf8"), file);
    tsModule = m.exports as typeof TS;
  } catch {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tsModule = require("typescript") as typeof TS;
  }
  return tsModule;
}

export interface CellImport {
  specifier: string;
  typeOnly: boolean;
  defaultName?: string;
  namespace?: string;
  /** Named import elements as written, e.g. "Tensor", "type Shape", "a as b". */
  named: string[];
  /** `import "x";` */
  sideEffect: boolean;
  /** `import x = require("y")`, kept verbatim (specifier still rewritten). */
  requireName?: string;
  /** 0-based line of the import within the cell source. */
  line: number;
}

export interface PreparedCell {
  code: string;
  imports: CellImport[];
  /** Names of the top-level declarations that were exported (for reporting). */
  exported: string[];
}

/**
 * Solution markers are dropped from exported code (the package is a library, and the markers
 * say nothing to its readers); the code between them stays. Only whole-line markers match.
 */
const SOLUTION_MARKER = /^\s*\/\/\s*###\s*(BEGIN|END) SOLUTION(\s+role="[a-z]+")?\s*$/;

interface Edit {
  start: number;
  end: number;
  text: string;
}

function hasExportModifier(ts: typeof TS, node: TS.Node): boolean {
  const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return mods?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
}

function declaredNames(ts: typeof TS, stmt: TS.Statement): string[] | undefined {
  if (
    ts.isClassDeclaration(stmt) ||
    ts.isFunctionDeclaration(stmt) ||
    ts.isInterfaceDeclaration(stmt) ||
    ts.isTypeAliasDeclaration(stmt) ||
    ts.isEnumDeclaration(stmt)
  ) {
    return stmt.name ? [stmt.name.text] : undefined;
  }
  if (ts.isVariableStatement(stmt)) {
    return stmt.declarationList.declarations.map((d) => d.name.getText());
  }
  // `namespace X {}` is a declaration; `declare global {}` and `declare module "x" {}` are not.
  if (ts.isModuleDeclaration(stmt) && ts.isIdentifier(stmt.name) && stmt.name.text !== "global") {
    return [stmt.name.text];
  }
  return undefined;
}

function readImport(ts: typeof TS, sf: TS.SourceFile, stmt: TS.ImportDeclaration): CellImport {
  const specifier = (stmt.moduleSpecifier as TS.StringLiteral).text;
  const line = sf.getLineAndCharacterOfPosition(stmt.getStart(sf)).line;
  const clause = stmt.importClause;
  const imp: CellImport = {
    specifier,
    typeOnly: clause?.isTypeOnly ?? false,
    named: [],
    sideEffect: clause === undefined,
    line,
  };
  if (clause?.name) imp.defaultName = clause.name.text;
  const bindings = clause?.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) imp.namespace = bindings.name.text;
  if (bindings && ts.isNamedImports(bindings)) {
    imp.named = bindings.elements.map((e) => e.getText(sf));
  }
  return imp;
}

/** Position just past the end of `end`'s line (so removing a statement removes its newline). */
function throughLineEnd(text: string, end: number): number {
  const nl = text.indexOf("\n", end);
  return nl === -1 ? text.length : nl + 1;
}

export function prepareExportCell(
  source: string,
  addExport: boolean,
  file: string,
  firstLine: number,
): PreparedCell {
  const ts = typescript();
  const sf = ts.createSourceFile("cell.ts", source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const diagnostics = (sf as unknown as { parseDiagnostics?: TS.DiagnosticWithLocation[] })
    .parseDiagnostics;
  const first = diagnostics?.[0];
  if (first) {
    const line = sf.getLineAndCharacterOfPosition(first.start).line;
    const message = ts.flattenDiagnosticMessageText(first.messageText, " ");
    throw new SourceError(file, firstLine + line, `syntax error in exported cell: ${message}`);
  }

  const edits: Edit[] = [];
  const imports: CellImport[] = [];
  const exported: string[] = [];
  for (const stmt of sf.statements) {
    if (ts.isImportDeclaration(stmt)) {
      imports.push(readImport(ts, sf, stmt));
      edits.push({ start: stmt.getStart(sf), end: throughLineEnd(source, stmt.end), text: "" });
      continue;
    }
    if (ts.isImportEqualsDeclaration(stmt) && ts.isExternalModuleReference(stmt.moduleReference)) {
      const spec = stmt.moduleReference.expression;
      if (ts.isStringLiteral(spec)) {
        imports.push({
          specifier: spec.text,
          typeOnly: stmt.isTypeOnly,
          named: [],
          sideEffect: false,
          requireName: stmt.name.text,
          line: sf.getLineAndCharacterOfPosition(stmt.getStart(sf)).line,
        });
        edits.push({ start: stmt.getStart(sf), end: throughLineEnd(source, stmt.end), text: "" });
        continue;
      }
    }
    if (!addExport || hasExportModifier(ts, stmt)) continue;
    const names = declaredNames(ts, stmt);
    if (!names) continue;
    exported.push(...names);
    // getStart skips leading comments and JSDoc, so `export` lands before any other modifier.
    const at = stmt.getStart(sf);
    edits.push({ start: at, end: at, text: "export " });
  }

  let code = source;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    code = code.slice(0, e.start) + e.text + code.slice(e.end);
  }
  const lines = code.split("\n");
  let skip = 0;
  while (skip < lines.length && isDirectiveLine(lines[skip] ?? "")) skip++;
  code = lines
    .slice(skip)
    .filter((l) => !SOLUTION_MARKER.test(l))
    .join("\n")
    .replace(/^\s*\n/, "")
    .trimEnd();
  return { code, imports, exported: [...new Set(exported)] };
}
