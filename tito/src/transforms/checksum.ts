// The build stage that writes each locked or grade cell's checksum into the student notebook.
// What the checksum covers, and how the grader recomputes it to report (not to trust) edits to
// cells the student was not meant to change, is `cellChecksum` in @tinytorch-ts/core.
import { cellChecksum } from "@tinytorch-ts/core";
import type { Notebook } from "@tinytorch-ts/core/notebook";
import { isLockedOrGradeCell, mapCells } from "./cells";

export function addChecksums(nb: Notebook): Notebook {
  return mapCells(nb, (cell) => {
    if (!isLockedOrGradeCell(cell)) return cell;
    const nbgrader = { ...cell.metadata.nbgrader, checksum: cellChecksum(cell) };
    return { ...cell, metadata: { ...cell.metadata, nbgrader } };
  });
}
