// Finds a module's exported cells: `//| default_exp core.tensor` names the module's package file,
// `//| export` sends a cell there with `export` added to its declarations, `//| exporti` sends it
// without (internal helpers), and `//| export nn.layers` sends one cell to another file.
import { parseDirectives, type Notebook } from "@tinytorch-ts/core/notebook";
import { SourceError } from "@tinytorch-ts/core";
import { prepareExportCell } from "./cell-code";
import type { ExportChunk } from "./package-file";
import { dottedToPackagePath } from "./package-paths";

export interface ModuleExports {
  /** The default_exp package path, e.g. "core/tensor". */
  defaultPath?: string;
  /** Every package path this module writes, in first-appearance order. */
  targets: string[];
  chunks: ExportChunk[];
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
  const directives = nb.cells.map((cell) =>
    cell.cell_type === "code" ? parseDirectives(cell.source) : [],
  );
  directives.forEach((list, i) => {
    for (const d of list) {
      if (d.name !== "default_exp") continue;
      const line = cellLine(i) + d.line;
      if (defaultPath !== undefined) throw new SourceError(file, line, "default_exp given twice");
      const r = dottedToPackagePath((d.arg ?? "").trim());
      if ("problem" in r) throw new SourceError(file, line, `default_exp: ${r.problem}`);
      defaultPath = r.path;
    }
  });

  const chunks: ExportChunk[] = [];
  const targets: string[] = [];
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
    chunks.push({
      target,
      sourceFile: file,
      origin: origin(i),
      prepared: prepareExportCell(cell.source, d.name === "export", file, cellLine(i)),
    });
  });
  return { defaultPath, targets, chunks };
}
