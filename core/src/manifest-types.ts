// The grading manifest: everything the grader needs to grade one module, written by
// `tito build` to grader/manifests/NN_name.json (instructor side; never shipped to students).
// The grader never re-reads module sources: a manifest plus a submission is a whole job.
import type { CellMetadata, CellType, KernelSpec } from "./notebook/types";

/** What a cell is, for grading. */
export type ManifestCellRole =
  /** Student-editable solution cell (nbgrader solution: true). Its source comes from the submission. */
  | "solution"
  /**
   * An answer graded by hand (nbgrader grade and solution both true, usually a written answer):
   * its source comes from the submission, its points from an instructor (`tito manual`).
   */
  | "manual"
  /** Graded test cell (grade: true, locked). Restored from the manifest with hidden tests. */
  | "grade"
  /** Any other locked or read-only cell (instructions, provided code). Restored from the manifest. */
  | "locked"
  /** An ordinary cell of the student notebook (prose, demos). Restored from the manifest. */
  | "plain";

export interface ManifestCell {
  index: number;
  id: string;
  cell_type: CellType;
  role: ManifestCellRole;
  grade_id?: string;
  /** Points, for grade cells and answers graded by hand. */
  points?: number;
  /** An answer graded by hand: what a full answer contains, for the instructor only. */
  rubric?: string;
  /** The checksum the student notebook carries for this cell (locked and grade cells). */
  checksum?: string;
  /** The source exactly as in the student notebook (stubs for solutions, no hidden tests). */
  studentSource: string;
  /**
   * What the grader executes: for grade cells, the full test with hidden tests restored; for
   * solution cells, the reference solution (the trusted reference run executes it; a student's
   * kernel gets the student's own cell).
   */
  gradingSource: string;
  /** Metadata as in the student notebook. */
  metadata: CellMetadata;
}

/** A plausible wrong answer to an exercise (`//| mutation`): the audit checks it earns nothing. */
export interface ManifestMutation {
  /** The exercise's (solution cell's) grade_id. */
  exercise: string;
  /** What is wrong with it, in the instructor's words. */
  description: string;
  /** The whole cell that stands in for the exercise's solution. */
  source: string;
}

export interface GradingManifest {
  /** 2: solution cells carry the reference solution in gradingSource. */
  schema: 2;
  /** "01_tensor" */
  module: string;
  /** "01" */
  number: string;
  /** The module's default_exp as a package path, e.g. "core/tensor". */
  exportPath?: string;
  /** Repository-relative path of the source, e.g. "modules/01_tensor/tensor_dev.ts". */
  sourceFile: string;
  /** sha256 (hex) of the source text the manifest was built from. */
  sourceHash: string;
  kernelspec: KernelSpec;
  /** Package paths this module imports (earlier modules only), e.g. ["core/tensor"]. */
  dependencies: string[];
  totalPoints: number;
  /** Every cell of the student notebook, in order. */
  cells: ManifestCell[];
  /** Wrong answers to the exercises, for the mutation audit (instructor only). */
  mutations?: ManifestMutation[];
}
