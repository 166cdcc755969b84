// Jupyter honours `deletable` and `editable` in cell metadata. Solution and grade cells must not
// be deleted (the grader matches them by grade_id); test and read-only cells must not be
// edited. An answer graded by hand stays editable (the student writes it): only its points are
// fixed, and those come from the manifest, never from the student's notebook. This is a
// convenience for honest students: the grader never trusts it and restores locked cells from
// the manifest, checking the checksum to report tampering.
import type { Notebook } from "@tinytorch-ts/core/notebook";
import { isGradeCell, isReadOnlyCell, isSolutionCell, isTestCell, mapCells } from "./cells";

export function lockCells(nb: Notebook): Notebook {
  return mapCells(nb, (cell) => {
    const metadata = { ...cell.metadata };
    if (isSolutionCell(cell) || isGradeCell(cell)) metadata.deletable = false;
    if (isTestCell(cell) || isReadOnlyCell(cell)) metadata.editable = false;
    return { ...cell, metadata };
  });
}
