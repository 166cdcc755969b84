// Every locked or grade cell carries a sha256 of what it is for grading: its type, source and
// nbgrader flags. The grader recomputes it on a submission to report (not to trust) edits to
// cells the student was not meant to change. `cellChecksum` is the one definition both sides use.
import { createHash } from "node:crypto";
import type { Cell, Notebook } from "@tinytorch-ts/core/notebook";
import { isLockedOrGradeCell, mapCells } from "./cells";

export function cellChecksum(cell: Cell): string {
  const nb = cell.metadata.nbgrader ?? {};
  const canonical = JSON.stringify([
    cell.cell_type,
    // Line endings are normalised: an editor on Windows must not look like tampering.
    cell.source.replace(/\r\n?/g, "\n"),
    nb.grade_id ?? null,
    nb.grade === true,
    nb.solution === true,
    nb.locked === true,
    typeof nb.points === "number" ? nb.points : null,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

export function addChecksums(nb: Notebook): Notebook {
  return mapCells(nb, (cell) => {
    if (!isLockedOrGradeCell(cell)) return cell;
    const nbgrader = { ...cell.metadata.nbgrader, checksum: cellChecksum(cell) };
    return { ...cell, metadata: { ...cell.metadata, nbgrader } };
  });
}
