// What a cell is, for the transforms: nbgrader's flags decide how a cell is treated in the
// student notebook (stubbed, locked, checksummed) and how the grader uses it.
import type { Cell, Notebook } from "@tinytorch-ts/core/notebook";

/** A cell the student writes in (nbgrader `solution: true`). */
export function isSolutionCell(cell: Cell): boolean {
  return cell.metadata.nbgrader?.solution === true;
}

/** A graded cell (nbgrader `grade: true`): a test, or an answer graded by hand. */
export function isGradeCell(cell: Cell): boolean {
  return cell.metadata.nbgrader?.grade === true;
}

/**
 * An answer graded by hand (nbgrader's "manually graded answer": `grade` and `solution` both
 * true), usually a written answer in a markdown cell: the student writes it, an instructor
 * scores it against its rubric.
 */
export function isManualAnswerCell(cell: Cell): boolean {
  return isGradeCell(cell) && isSolutionCell(cell);
}

/** A test cell: graded, and not the student's to write. */
export function isTestCell(cell: Cell): boolean {
  return isGradeCell(cell) && !isSolutionCell(cell);
}

/** A locked cell that is neither a solution nor a test: provided code or instructions. */
export function isReadOnlyCell(cell: Cell): boolean {
  const nb = cell.metadata.nbgrader;
  return nb?.locked === true && nb.solution !== true && nb.grade !== true;
}

/** Cells whose content the grader restores and whose checksum the student notebook carries. */
export function isLockedOrGradeCell(cell: Cell): boolean {
  return isGradeCell(cell) || cell.metadata.nbgrader?.locked === true;
}

export function gradeId(cell: Cell): string | undefined {
  return cell.metadata.nbgrader?.grade_id;
}

/** Maps every cell through `fn`, returning a new notebook (the input is never mutated). */
export function mapCells(nb: Notebook, fn: (cell: Cell, index: number) => Cell): Notebook {
  return { ...nb, cells: nb.cells.map(fn) };
}

/** Splits a cell source into lines (a source is one string, lines joined by "\n"). */
export function sourceLines(source: string): string[] {
  return source.split("\n");
}
