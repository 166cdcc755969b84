// What a cell is: nbgrader's flags decide how a cell is treated in the student notebook
// (stubbed, locked, checksummed), what tito test and tito export do with it, and how the
// grader uses it. The one place that reads those flags for a cell's role; every other reader
// (the build, the transforms, the student commands, the validator) asks these functions.
import type { Cell } from "./types";

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

/** An exercise: the student writes it, and a test (not a person) grades it. */
export function isExerciseCell(cell: Cell): boolean {
  return isSolutionCell(cell) && !isGradeCell(cell);
}

/** A locked cell (nbgrader `locked: true`): the student may not edit it. */
export function isLockedCell(cell: Cell): boolean {
  return cell.metadata.nbgrader?.locked === true;
}

/** A locked cell that is neither a solution nor a test: provided code or instructions. */
export function isReadOnlyCell(cell: Cell): boolean {
  return isLockedCell(cell) && !isSolutionCell(cell) && !isGradeCell(cell);
}

/** Cells whose content the grader restores and whose checksum the student notebook carries. */
export function isLockedOrGradeCell(cell: Cell): boolean {
  return isGradeCell(cell) || isLockedCell(cell);
}

export function gradeId(cell: Cell): string | undefined {
  return cell.metadata.nbgrader?.grade_id;
}

/** The points a graded cell is worth (0 for any other cell). */
export function cellPoints(cell: Cell): number {
  return cell.metadata.nbgrader?.points ?? 0;
}
