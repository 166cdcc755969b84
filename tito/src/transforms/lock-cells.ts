// Jupyter honours `deletable` and `editable` in cell metadata. Solution and grade cells must not
// be deleted (the grader matches them by grade_id); grade and read-only cells must not be
// edited. This is a convenience for honest students: the grader never trusts it and restores
// locked cells from the manifest, checking the checksum to report tampering.
import type { Notebook } from "@tinytorch-ts/core/notebook";
import { isGradeCell, isReadOnlyCell, isSolutionCell, mapCells } from "./cells";

export function lockCells(nb: Notebook): Notebook {
  return mapCells(nb, (cell) => {
    const metadata = { ...cell.metadata };
    if (isSolutionCell(cell) || isGradeCell(cell)) metadata.deletable = false;
    if (isGradeCell(cell) || isReadOnlyCell(cell)) metadata.editable = false;
    return { ...cell, metadata };
  });
}
