// A rubric lives in the answer graded by hand that it scores, between BEGIN/END RUBRIC markers,
// for the instructor. Students never get it (markers included); the manifest carries it to the
// instructor's grading page (`tito manual`).
import { findRegions, type CellType, type Notebook } from "@tinytorch-ts/core/notebook";
import { isManualAnswerCell, mapCells, sourceLines } from "./cells";
import { removeRegions } from "./clear-hidden-tests";

/** The rubric's text (its lines, without markers), or undefined when there is none. */
export function rubricOf(source: string, cellType: CellType): string | undefined {
  const regions = findRegions(source, "rubric", undefined, undefined, cellType);
  if (regions.length === 0) return undefined;
  const lines = sourceLines(source);
  return regions.map((r) => lines.slice(r.begin + 1, r.end).join("\n")).join("\n\n");
}

export function removeRubrics(source: string, cellType: CellType): string {
  return removeRegions(source, "rubric", cellType);
}

export function clearRubrics(nb: Notebook): Notebook {
  return mapCells(nb, (cell) =>
    isManualAnswerCell(cell)
      ? { ...cell, source: removeRubrics(cell.source, cell.cell_type) }
      : cell,
  );
}
