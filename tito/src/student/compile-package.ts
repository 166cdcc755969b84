// Compiles a tinytorch-ts package directory (its tsconfig.json) in-process with the TypeScript
// compiler API. Used for the package of a student bundle, which may sit anywhere on disk and may
// not have its own node_modules yet: modules and @types the package cannot resolve from its own
// location are looked up in the kit's node_modules instead. `overrides` lets a caller compile
// source texts that are not written yet, so a failing compile never replaces working files.
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type * as TS from "typescript";
import { KIT_ROOT } from "@tinytorch-ts/core";
import { typescript } from "../export/cell-code";
import { explainPackageStubs } from "../transforms/strip-solutions";

export interface CompileResult {
  ok: boolean;
  /** `file:line:col: message`, paths relative to the package directory. */
  errors: string[];
  emitted: string[];
}

export interface CompileOptions {
  /** Absolute path -> source text, used instead of the file on disk. */
  overrides?: Map<string, string>;
  /** Emit even when there are errors (default false: nothing is written then). */
  emitOnError?: boolean;
}

export function compilePackage(pkgDir: string, options: CompileOptions = {}): CompileResult {
  const ts = typescript();
  const configPath = join(pkgDir, "tsconfig.json");
  const diagnostics: TS.Diagnostic[] = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => diagnostics.push(d),
  });
  if (!parsed)
    return { ok: false, errors: diagnostics.map((d) => describe(ts, d, pkgDir)), emitted: [] };
  const compilerOptions: TS.CompilerOptions = { ...parsed.options };
  const kitTypes = join(KIT_ROOT, "node_modules", "@types");
  if (!existsSync(join(pkgDir, "node_modules", "@types")) && existsSync(kitTypes)) {
    compilerOptions.typeRoots = [...(compilerOptions.typeRoots ?? []), kitTypes];
  }
  const host = ts.createCompilerHost(compilerOptions);
  const overrides = options.overrides ?? new Map<string, string>();
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => overrides.get(resolve(f)) ?? readFile(f);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => overrides.has(resolve(f)) || fileExists(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, onError, create) => {
    const text = overrides.get(resolve(f));
    return text !== undefined
      ? ts.createSourceFile(f, text, lang)
      : getSourceFile(f, lang, onError, create);
  };
  const fallbackFrom = join(KIT_ROOT, "package.json");
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts) =>
    literals.map((lit) => {
      const own = ts.resolveModuleName(lit.text, containingFile, opts, host, undefined, redirected);
      if (own.resolvedModule) return own;
      return ts.resolveModuleName(lit.text, fallbackFrom, opts, host);
    });
  const roots = [
    ...new Set([...parsed.fileNames, ...[...overrides.keys()].filter((f) => f.endsWith(".ts"))]),
  ];
  const program = ts.createProgram({ rootNames: roots, options: compilerOptions, host });
  const all = [...ts.getPreEmitDiagnostics(program)];
  const errors = all.filter((d) => d.category === ts.DiagnosticCategory.Error);
  const emitted: string[] = [];
  if (errors.length === 0 || options.emitOnError) {
    const result = program.emit(undefined, (file, text) => {
      // What runs is the JavaScript: its stubs say which notebook to finish and export, for the
      // student who meets one from a later notebook (the sources keep the notebook's stub).
      ts.sys.writeFile(file, file.endsWith(".js") ? explainPackageStubs(text) : text);
      emitted.push(relative(pkgDir, file));
    });
    errors.push(...result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error));
  }
  return { ok: errors.length === 0, errors: errors.map((d) => describe(ts, d, pkgDir)), emitted };
}

function describe(ts: typeof TS, d: TS.Diagnostic, pkgDir: string): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
  if (!d.file || d.start === undefined) return message;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  const file = relative(pkgDir, d.file.fileName) || dirname(d.file.fileName);
  return `${file}:${line + 1}:${character + 1}: ${message}`;
}
