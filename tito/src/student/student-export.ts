// `tito export <notebook>`: puts a student's own exercises into their own package. The released
// package notebook (stubs plus provided code) gets the student's solution cells, is exported
// exactly like the reference, and the package is recompiled. If the student's code does not
// parse or type-check, nothing is written and the package stays as it was.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic, SourceError } from "@tinytorch-ts/core";
import { mergeStudentWork, parseDirectives } from "@tinytorch-ts/core/notebook";
import { prepareExportCell } from "../export/cell-code";
import { exportNotebook } from "../export/export-notebook";
import { gradeId, isSolutionCell } from "../transforms/cells";
import { compilePackage } from "./compile-package";
import { citeCompileError, failedTests, type FailedTest } from "./export-notes";
import { STUDENT_PROVENANCE } from "./package-origins";
import { openStudentNotebook } from "./workspace";

export interface StudentExportReport {
  ok: boolean;
  module?: string;
  /** Workspace-relative package files written. */
  written: string[];
  /** Exercises whose stub is still used (not found in the notebook). */
  missing: string[];
  notImplemented: string[];
  /** Tests that failed when the notebook last ran them: their code is exported all the same. */
  failedTests: FailedTest[];
  errors: string[];
}

/** A cell whose leading directive lines include `//| export` or `//| exporti`. */
function isExported(source: string): boolean {
  return parseDirectives(source).some((d) => d.name === "export" || d.name === "exporti");
}
const STUB = /throw new Error\("Not implemented: ([A-Za-z0-9_-]+)(?: \([\w$.]+\))?"\)/g;

export async function exportStudentNotebook(
  notebookArg: string,
  workspace?: string,
): Promise<StudentExportReport> {
  const report: StudentExportReport = {
    ok: false,
    written: [],
    missing: [],
    notImplemented: [],
    failedTests: [],
    errors: [],
  };
  const opened = openStudentNotebook(notebookArg, workspace);
  if ("error" in opened) {
    if (opened.module !== undefined) report.module = opened.module;
    report.errors.push(opened.error);
    return report;
  }
  const { ws, entry, student, released } = opened;
  report.module = entry.module;
  const merged = mergeStudentWork(released.packageNotebook, student);
  report.missing = merged.missing;

  // Check each exercise on its own first, so a syntax error names the exercise, not a file line.
  for (const cell of merged.notebook.cells) {
    if (!isSolutionCell(cell) || cell.cell_type !== "code" || !isExported(cell.source)) continue;
    try {
      prepareExportCell(cell.source, false, entry.notebook, 1);
    } catch (e) {
      const where =
        e instanceof SourceError && e.line !== undefined ? ` (line ${e.line} of the cell)` : "";
      const why = e instanceof SourceError ? e.problem : String(e);
      report.errors.push(`${entry.notebook}: exercise ${gradeId(cell) ?? cell.id}${where}: ${why}`);
    }
  }
  if (report.errors.length > 0) return report;

  const exported = await exportNotebook(
    merged.notebook,
    entry.notebook,
    { line: () => 1, origin: (i) => released.origins[i] ?? entry.notebook },
    STUDENT_PROVENANCE(entry.notebook),
  );
  const pkgDir = join(ws, "tinytorch-ts");
  const overrides = new Map<string, string>();
  for (const t of exported.targets)
    overrides.set(resolve(pkgDir, "src", `${t}.ts`), exported.files[t] ?? "");
  const compiled = compilePackage(pkgDir, { overrides });
  if (!compiled.ok) {
    const read = (file: string) => {
      const abs = resolve(pkgDir, file);
      return overrides.get(abs) ?? (existsSync(abs) ? readFileSync(abs, "utf8") : undefined);
    };
    report.errors.push(...compiled.errors.map((e) => citeCompileError(e, read, student)));
    return report;
  }
  for (const [file, text] of overrides) {
    writeFileAtomic(file, text);
    report.written.push(`tinytorch-ts/src/${file.slice(resolve(pkgDir, "src").length + 1)}`);
  }
  for (const text of overrides.values()) {
    for (const m of text.matchAll(STUB)) if (m[1]) report.notImplemented.push(m[1]);
  }
  report.failedTests = failedTests(student, report.notImplemented);
  report.ok = true;
  return report;
}
