// A student's work is their solution cells, found by grade_id. Everything else (tests, provided
// code, explanations) is taken from the released originals, exactly as the grader does, so that
// editing a test cell never changes a result and deleting a cell never breaks the package.
import { isDirectiveLine, type Cell, type Notebook } from "@tinytorch-ts/core/notebook";
import { gradeId, isLockedOrGradeCell, isSolutionCell } from "../transforms/cells";

function leadingDirectives(source: string): string[] {
  const lines = source.split("\n");
  const end = lines.findIndex((l) => !isDirectiveLine(l));
  return end === -1 ? lines : lines.slice(0, end);
}

function withoutDirectives(source: string): string[] {
  const lines = source.split("\n");
  return lines.slice(leadingDirectives(source).length);
}

export interface StudentWork {
  /** grade_id -> the student's source for that solution cell (its last occurrence). */
  solutions: Map<string, string>;
  /**
   * grade_ids of cells the student's notebook has more than once. The last one counts, as in the
   * grader (grader/src/reconstruct.ts), so tito test and export see what will be graded.
   */
  duplicated: string[];
}

export function studentSolutions(nb: Notebook): StudentWork {
  const solutions = new Map<string, string>();
  const duplicated: string[] = [];
  for (const cell of nb.cells) {
    const id = gradeId(cell);
    if (!id || !isSolutionCell(cell)) continue;
    if (solutions.has(id) && !duplicated.includes(id)) duplicated.push(id);
    solutions.set(id, cell.source);
  }
  return { solutions, duplicated };
}

/**
 * The original cell with the student's code in it. The original's `//| ...` directive lines are
 * kept and the student's dropped, so deleting or editing `//| export` cannot change where code goes.
 */
export function withStudentSource(original: Cell, studentSource: string): Cell {
  const source = [...leadingDirectives(original.source), ...withoutDirectives(studentSource)].join(
    "\n",
  );
  return { ...original, source } as Cell;
}

export interface MergeResult {
  notebook: Notebook;
  /** Solution grade_ids the student's notebook does not have (the stub is used). */
  missing: string[];
  /** grade_ids of locked or test cells whose source the student changed (originals are used). */
  edited: string[];
  duplicated: string[];
}

/** `original` with each solution cell replaced by the student's version of it. */
export function mergeStudentWork(original: Notebook, student: Notebook): MergeResult {
  const work = studentSolutions(student);
  const studentById = new Map(student.cells.map((c) => [c.id, c]));
  const missing: string[] = [];
  const edited: string[] = [];
  const cells = original.cells.map((cell) => {
    const id = gradeId(cell);
    if (isSolutionCell(cell) && id) {
      const src = work.solutions.get(id);
      if (src === undefined) {
        missing.push(id);
        return cell;
      }
      return withStudentSource(cell, src);
    }
    if (isLockedOrGradeCell(cell)) {
      const theirs = studentById.get(cell.id);
      if (theirs && theirs.source !== cell.source) edited.push(id ?? cell.id);
    }
    return cell;
  });
  return { notebook: { ...original, cells }, missing, edited, duplicated: work.duplicated };
}
