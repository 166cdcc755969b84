// Finds a module's exported cells: `//| default_exp core.tensor` names the module's package file,
// `//| export` sends a cell there with `export` added to its declarations, `//| exporti` sends it
// without (internal helpers), and `//| export nn.layers` sends one cell to another file.
import { parseDirectives } from "../notebook/markers";
import { SourceError } from "../notebook/errors";
import type { Notebook } from "../notebook/types";
import { prepareExportCell } from "./cell-code";
import type { ExportChunk } from "./package-file";
import { dottedToPackagePath, packagePathOf } from "./package-paths";

export interface ModuleExports {
  /** The default_exp package path, e.g. "core/tensor". */
  defaultPath?: string;
  /** Every package path this module writes, in first-appearance order. */
  targets: string[];
  chunks: ExportChunk[];
  /**
   * Package files of later modules that extend the default file (`//| extended_by
   * core.autograd`): the default file loads each one at its end, when it exists.
   */
  extendedBy: { path: string; line: number }[];
  /** Package paths imported by exported cells, with their source lines. */
  exportedImports: { path: string; line: number }[];
}

/** Where cells are, for error messages and for the comment above each exported cell. */
export interface CellLocator {
  /** 1-based line of cell i's first source line in `file`. */
  line(cellIndex: number): number;
  /** How the package file names cell i's origin; default "<file>, cell <i+1> (line <n>)". */
  origin?(cellIndex: number): string;
}

export function collectExports(nb: Notebook, file: string, where: CellLocator): ModuleExports {
  const cellLine = (i: number) => where.line(i);
  const origin = (i: number) =>
    where.origin?.(i) ?? `${file}, cell ${i + 1} (line ${where.line(i)})`;
  let defaultPath: string | undefined;
  const extendedBy: { path: string; line: number }[] = [];
  const directives = nb.cells.map((cell) =>
    cell.cell_type === "code" ? parseDirectives(cell.source) : [],
  );
  directives.forEach((list, i) => {
    for (const d of list) {
      const line = cellLine(i) + d.line;
      if (d.name === "extended_by") {
        const r = dottedToPackagePath((d.arg ?? "").trim());
        if ("problem" in r) throw new SourceError(file, line, `extended_by: ${r.problem}`);
        if (!extendedBy.some((e) => e.path === r.path)) extendedBy.push({ path: r.path, line });
        continue;
      }
      if (d.name !== "default_exp") continue;
      if (defaultPath !== undefined) throw new SourceError(file, line, "default_exp given twice");
      const r = dottedToPackagePath((d.arg ?? "").trim());
      if ("problem" in r) throw new SourceError(file, line, `default_exp: ${r.problem}`);
      defaultPath = r.path;
    }
  });

  const chunks: ExportChunk[] = [];
  const targets: string[] = [];
  const exportedImports: { path: string; line: number }[] = [];
  nb.cells.forEach((cell, i) => {
    const d = directives[i]?.find((x) => x.name === "export" || x.name === "exporti");
    if (!d) return;
    const line = cellLine(i) + d.line;
    let target = defaultPath;
    const arg = d.arg?.trim();
    if (arg) {
      const r = dottedToPackagePath(arg);
      if ("problem" in r) throw new SourceError(file, line, `${d.name}: ${r.problem}`);
      target = r.path;
    }
    if (target === undefined) {
      throw new SourceError(file, line, `${d.name} without a target: add //| default_exp <path>`);
    }
    if (!targets.includes(target)) targets.push(target);
    const prepared = prepareExportCell(cell.source, d.name === "export", file, cellLine(i));
    for (const imp of prepared.imports) {
      const path = packagePathOf(imp.specifier);
      if (path) exportedImports.push({ path, line: cellLine(i) + imp.line });
    }
    chunks.push({ target, sourceFile: file, origin: origin(i), prepared });
  });
  if (extendedBy.length > 0 && defaultPath === undefined) {
    throw new SourceError(file, extendedBy[0]?.line, "extended_by without a default_exp to extend");
  }
  return { defaultPath, targets, chunks, extendedBy, exportedImports };
}
