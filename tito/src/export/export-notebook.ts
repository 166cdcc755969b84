// From a module notebook to the text of its package files: collect the exported cells, group
// them by target file, render each file. Used by the build (reference package), the
// release (package from stripped sources) and `tito export` (a student's own package).
import { SourceError } from "../notebook/errors";
import type { Notebook } from "../notebook/types";
import { collectExports, type CellLocator } from "./collect";
import { noFormatting, type Formatter } from "./format";
import {
  BUILD_PROVENANCE,
  renderPackageFile,
  type ExportChunk,
  type Provenance,
} from "./package-file";

export interface PackageExport {
  defaultPath?: string;
  /** Package paths written, in first-appearance order. */
  targets: string[];
  /** Package path ("core/tensor") -> formatted file text. */
  files: Record<string, string>;
  /** Later modules' package paths the default file loads at its end (`//| extended_by`). */
  extendedBy: { path: string; line: number }[];
  /** Package paths imported by the exported cells, with their source lines. */
  exportedImports: { path: string; line: number }[];
}

export async function exportNotebook(
  nb: Notebook,
  sourceFile: string,
  where: CellLocator,
  how: Provenance = BUILD_PROVENANCE,
  format: Formatter = noFormatting,
): Promise<PackageExport> {
  const { defaultPath, targets, chunks, extendedBy, exportedImports } = collectExports(
    nb,
    sourceFile,
    where,
  );
  const files: Record<string, string> = {};
  for (const target of targets) {
    const mine: ExportChunk[] = chunks.filter((c) => c.target === target);
    try {
      const extensions = target === defaultPath ? extendedBy.map((e) => e.path) : [];
      files[target] = await renderPackageFile(target, mine, how, format, extensions);
    } catch (e) {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      throw new SourceError(sourceFile, undefined, `generated ${target}.ts does not parse: ${why}`);
    }
  }
  return { defaultPath, targets, files, extendedBy, exportedImports };
}
