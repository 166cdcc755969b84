// The grader's data model: what one graded submission produces. Everything here is plain JSON so
// that results travel between processes (a Gradescope container, a job queue, the gradebook)
// without losing anything.
import type { CapstoneRecord } from "./capstone";

/** How a graded test cell ended. Only "passed" earns points. */
export type TestStatus =
  | "passed"
  /** The test ran and a check failed, judged by the grader against the reference run. */
  | "failed"
  /** The cell hit its time limit, or the notebook hit its overall limit before it finished. */
  | "timeout"
  /** The kernel process died (exit, out of memory, signal) before or while the cell ran. */
  | "died"
  /** The cell never ran (the kernel was gone, or the notebook deadline passed). */
  | "not-run"
  /** An answer graded by hand: its points come from an instructor (`tito manual`), not here. */
  | "manual";

export interface TestResult {
  /** The grade cell's grade_id, e.g. "test-unit-relu". */
  gradeId: string;
  /** The test's display name: the grade_id, or the `testUnit…` function the cell calls. */
  name: string;
  /** Position of the cell in the manifest (0-based). */
  cellIndex: number;
  score: number;
  maxScore: number;
  status: TestStatus;
  /** What the cell printed, with hidden-test text removed and size capped. */
  output: string;
  /** The grader's reason for a failure (never values of a hidden check). */
  message?: string;
  /** How many of the test's checks the student's code passed, as the grader judged them. */
  checks?: { passed: number; total: number };
  /** A test with named parts (partial credit): each part, its points and verdict. */
  parts?: PartResult[];
  /** An answer graded by hand: what the student wrote (clipped), for the instructor. */
  answer?: string;
}

export interface PartResult {
  name: string;
  score: number;
  maxScore: number;
  passed: boolean;
  /** True when the part's checks are hidden ones (its failure shows no values). */
  hidden: boolean;
  message?: string;
}

/** Something in the submission differs from the notebook the student was given. */
export interface TamperNote {
  kind:
    | "wrong-module"
    | "missing-cell"
    | "edited-locked-cell"
    | "edited-test-cell"
    | "checksum-mismatch"
    | "changed-cell-type"
    | "duplicate-grade-id"
    | "unknown-grade-id"
    | "moved-cell"
    | "added-cells"
    | "missing-solution";
  /** grade_id or cell id the note is about, when there is one. */
  cell?: string;
  message: string;
}

/** What the student wrote, shown back to them in the feedback. */
export interface StudentCell {
  gradeId: string;
  cellType: "code" | "markdown" | "raw";
  source: string;
  /** True when the submission lacked this cell and the stub was used instead. */
  stub: boolean;
}

export type SubmissionStatus =
  /** Reconstructed and executed; scores come from the grader's comparison with the reference. */
  | "graded"
  /** Could not be read as a notebook (not JSON, wrong nbformat, empty): 0 points. */
  | "rejected"
  /** The grader could not run it (kernel never started, sandbox failure): 0 points. */
  | "error";

export interface SubmissionResult {
  module: string;
  /** Who submitted, when the caller knows (file or folder name). */
  student?: string;
  /** sha256 of the submission file's bytes. */
  submissionHash: string;
  /** sha256 of the manifest the submission was graded against. */
  manifestHash: string;
  status: SubmissionStatus;
  /** Why the submission got 0 without being run, or why the run failed. */
  reason?: string;
  /** Points earned automatically (answers graded by hand are added by `tito manual`). */
  score: number;
  /** Every point of the module, automatic and by hand. */
  maxScore: number;
  /** The points of the answers graded by hand (part of maxScore). */
  manualMaxScore?: number;
  tests: TestResult[];
  tampering: TamperNote[];
  studentCells: StudentCell[];
  /** Which isolation layers were in force (e.g. "user tito-sandbox", "no network"). */
  isolation: string[];
  startedAt: string;
  finishedAt: string;
  executionTimeMs: number;
  /** A capstone's model file, as the grader measured it (its events are among the tests). */
  capstone?: CapstoneRecord;
}
