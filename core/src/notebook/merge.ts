// A student's work merged into the released notebook: the one rule that `tito test`, `tito
// export`, `tito status` and the grader's reconstruction share, so that what a student runs at
// home is what will be graded.
// - A student's cell is found by its grade_id, never by its position, its cell id or its flags
//   (all of which the student can change): what a cell is comes from the released original.
// - A grade_id the student's notebook has more than once: the last copy counts.
// - A solution cell gets the student's code under the original's directive lines (`//| export`
//   ...), so deleting or editing a directive cannot change where code goes.
// - Every other cell (tests, provided code, prose) is the original; an edit is only reported.
import { gradeId, isLockedOrGradeCell, isSolutionCell } from "./cell-roles";
import { isDirectiveLine } from "./markers";
import type { Cell, Notebook } from "./types";

export interface LastCopies<T> {
  /** grade_id -> the copy that counts: the last one in the notebook. */
  last: Map<string, T>;
  /** grade_ids the notebook has more than once, in the order they are first repeated. */
  duplicated: string[];
  /** grade_id -> how many cells carry it. */
  copies: Map<string, number>;
}

/** The copy of each grade_id that counts (the last), for any shape of cell. */
export function lastCopies<T>(
  cells: readonly T[],
  idOf: (cell: T) => string | undefined,
): LastCopies<T> {
  const last = new Map<string, T>();
  const copies = new Map<string, number>();
  const duplicated: string[] = [];
  for (const cell of cells) {
    const id = idOf(cell);
    if (id === undefined) continue;
    const n = (copies.get(id) ?? 0) + 1;
    copies.set(id, n);
    if (n === 2) duplicated.push(id);
    last.set(id, cell);
  }
  return { last, copies, duplicated };
}

function leadingDirectiveCount(lines: string[]): number {
  const end = lines.findIndex((l) => !isDirectiveLine(l));
  return end === -1 ? lines.length : end;
}

/** A solution cell's source as run: the original's leading directives, the student's code. */
export function mergedSolutionSource(originalSource: string, studentSource: string): string {
  const original = originalSource.split("\n");
  const student = studentSource.split("\n");
  return [
    ...original.slice(0, leadingDirectiveCount(original)),
    ...student.slice(leadingDirectiveCount(student)),
  ].join("\n");
}

export interface MergeResult {
  notebook: Notebook;
  /** Solution grade_ids the student's notebook does not have (the stub is used). */
  missing: string[];
  /** grade_ids of locked or test cells whose source the student changed (originals are used). */
  edited: string[];
  /** grade_ids the student's notebook has more than once (the last copy was used). */
  duplicated: string[];
}

/** The student's cells by grade_id, the last copy of each. */
export function studentCellsById(student: Notebook): LastCopies<Cell> {
  return lastCopies(student.cells, gradeId);
}

/**
 * `original` with each of its solution cells (exercises and written answers) holding the
 * student's version of it.
 */
export function mergeStudentWork(original: Notebook, student: Notebook): MergeResult {
  const theirs = studentCellsById(student);
  const missing: string[] = [];
  const edited: string[] = [];
  const cells = original.cells.map((cell): Cell => {
    const id = gradeId(cell);
    if (id === undefined) return cell;
    const match = theirs.last.get(id);
    if (isSolutionCell(cell)) {
      if (match === undefined) {
        missing.push(id);
        return cell;
      }
      return { ...cell, source: mergedSolutionSource(cell.source, match.source) } as Cell;
    }
    if (isLockedOrGradeCell(cell) && match !== undefined && match.source !== cell.source) {
      edited.push(id);
    }
    return cell;
  });
  return { notebook: { ...original, cells }, missing, edited, duplicated: theirs.duplicated };
}
