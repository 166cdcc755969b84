// `//| hide` cells are instructor-only (setup, exported helpers students need not read): they
// stay in the package export but are left out of student notebooks and grading manifests.
import { parseDirectives, type Cell, type Notebook } from "@tinytorch-ts/core/notebook";

export function isHiddenCell(cell: Cell): boolean {
  return cell.cell_type === "code" && parseDirectives(cell.source).some((d) => d.name === "hide");
}

export function hideCells(nb: Notebook): Notebook {
  return { ...nb, cells: nb.cells.filter((cell) => !isHiddenCell(cell)) };
}
