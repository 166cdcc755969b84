// Everything one module source produces: its student notebook, its grading manifest and its
// reference package files. Pure given the source text (and the kit's code), so the result can be
// cached by content hash.
import { SourceError, type ManifestMutation, COURSE_PATHS } from "@tinytorch-ts/core";
import {
  writeIpynb,
  parsePercent,
  validateModule,
  type Notebook,
} from "@tinytorch-ts/core/notebook";
import { exportNotebook } from "../export/export-notebook";
import { noFormatting, type Formatter } from "../export/format";
import { BUILD_PROVENANCE } from "../export/package-file";
import { findPackageImports, type PackageImport } from "../export/import-check";
import type { ReleaseTier } from "../transforms/strip-solutions";
import type { ModuleInfo } from "./discover";
import { buildManifest, renderManifest } from "./manifest";
import { takeMutations } from "./mutations";
import { runPipeline } from "./pipeline";

export interface ModuleResult {
  number: string;
  module: string;
  sourceFile: string;
  defaultPath?: string;
  /** Package paths this module writes. */
  targets: string[];
  /** Every import of the package, for the cross-module check. */
  imports: PackageImport[];
  /** Later modules' files this module's default file loads (`//| extended_by`). */
  extendedBy: { path: string; line: number }[];
  /** Package paths imported by the exported cells (what the package file itself loads). */
  exportedImports: PackageImport[];
  /** Repository-relative output path -> content. */
  outputs: Record<string, string>;
}

export type ModuleOutcome =
  { ok: true; result: ModuleResult } | { ok: false; errors: SourceError[] };

/** 1-based source line of a cell's first source line. */
export type CellLine = (cellIndex: number) => number;

export function parseModule(
  info: ModuleInfo,
  text: string,
):
  | { ok: true; parsed: ReturnType<typeof parsePercent>; cellLine: CellLine }
  | { ok: false; errors: SourceError[] } {
  let parsed: ReturnType<typeof parsePercent>;
  try {
    parsed = parsePercent(text, info.sourceFile);
  } catch (e) {
    if (e instanceof SourceError) return { ok: false, errors: [e] };
    throw e;
  }
  const errors = validateModule(parsed, info.sourceFile);
  if (errors.length > 0) return { ok: false, errors };
  const lines = parsed.sourceLines;
  return { ok: true, parsed, cellLine: (i) => lines[i] ?? 1 };
}

/**
 * A module source as every output is made from it: parsed, validated, and its mutation cells
 * (wrong answers, for the audit's manifest only) taken out, so that no student notebook, package
 * or release can ever contain one. Cell positions, for messages, skip the cells taken out.
 */
export function parseModuleForBuild(
  info: ModuleInfo,
  text: string,
):
  | { ok: true; notebook: Notebook; mutations: ManifestMutation[]; cellLine: CellLine }
  | { ok: false; errors: SourceError[] } {
  const p = parseModule(info, text);
  if (!p.ok) return p;
  const { notebook, mutations } = takeMutations(p.parsed.notebook);
  const kept = p.parsed.notebook.cells.flatMap((c, i) => (notebook.cells.includes(c) ? [i] : []));
  return { ok: true, notebook, mutations, cellLine: (i) => p.cellLine(kept[i] ?? i) };
}

export async function buildModule(
  info: ModuleInfo,
  text: string,
  tier: ReleaseTier,
  format: Formatter = noFormatting,
): Promise<ModuleOutcome> {
  const p = parseModuleForBuild(info, text);
  if (!p.ok) return p;
  const { notebook: nb, mutations, cellLine } = p;
  try {
    const reference = await exportNotebook(
      nb,
      info.sourceFile,
      { line: cellLine },
      BUILD_PROVENANCE,
      format,
    );
    const imports = findPackageImports(nb, cellLine);
    const student = runPipeline(nb, "student", tier);
    const grading = runPipeline(nb, "grading", tier);
    const solutions = runPipeline(nb, "reference", tier);
    const dependencies = [...new Set(imports.filter((i) => !i.relative).map((i) => i.path))]
      .filter(
        (path) => path !== "" && !path.startsWith("support/") && !reference.targets.includes(path),
      )
      .sort();
    const manifest = buildManifest({
      module: info.module,
      number: info.number,
      sourceFile: info.sourceFile,
      sourceText: text,
      exportPath: reference.defaultPath,
      dependencies,
      student,
      grading,
      reference: solutions,
      mutations,
    });
    const outputs: Record<string, string> = {
      [`notebooks/${info.module}.ipynb`]: writeIpynb(student),
      [`${COURSE_PATHS.manifests}/${info.module}.json`]: renderManifest(manifest),
    };
    for (const target of reference.targets) {
      outputs[`tinytorch-ts/src/${target}.ts`] = reference.files[target] ?? "";
    }
    return {
      ok: true,
      result: {
        number: info.number,
        module: info.module,
        sourceFile: info.sourceFile,
        defaultPath: reference.defaultPath,
        targets: reference.targets,
        imports,
        extendedBy: reference.extendedBy,
        exportedImports: reference.exportedImports,
        outputs,
      },
    };
  } catch (e) {
    if (e instanceof SourceError) return { ok: false, errors: [e] };
    throw e;
  }
}
