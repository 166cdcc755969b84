// Helpers for the transforms. What a cell is (its role, from nbgrader's flags) is defined once,
// in core/src/notebook/cell-roles.ts; it is re-exported here for the transforms' callers.
import type { Cell, Notebook } from "@tinytorch-ts/core/notebook";

export {
  cellPoints,
  gradeId,
  isExerciseCell,
  isGradeCell,
  isLockedCell,
  isLockedOrGradeCell,
  isManualAnswerCell,
  isReadOnlyCell,
  isSolutionCell,
  isTestCell,
} from "@tinytorch-ts/core/notebook";

/** Maps every cell through `fn`, returning a new notebook (the input is never mutated). */
export function mapCells(nb: Notebook, fn: (cell: Cell, index: number) => Cell): Notebook {
  return { ...nb, cells: nb.cells.map(fn) };
}

/** Splits a cell source into lines (a source is one string, lines joined by "\n"). */
export function sourceLines(source: string): string[] {
  return source.split("\n");
}
