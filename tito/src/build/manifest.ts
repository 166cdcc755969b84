// Builds a module's grading manifest from its student and grading notebooks, which hold the same
// cells in the same order (the pipeline runs the same cell-removing stages for both).
import { createHash } from "node:crypto";
import { type Cell, type Notebook, TSLAB_KERNELSPEC } from "@tinytorch-ts/core/notebook";
import { isGradeCell, isLockedCell, isManualAnswerCell, isSolutionCell } from "../transforms/cells";
import { removeRubrics, rubricOf } from "../transforms/clear-rubrics";
import type {
  GradingManifest,
  ManifestCell,
  ManifestCellRole,
  ManifestMutation,
} from "@tinytorch-ts/core";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function cellRole(cell: Cell): ManifestCellRole {
  if (isManualAnswerCell(cell)) return "manual";
  if (isSolutionCell(cell)) return "solution";
  if (isGradeCell(cell)) return "grade";
  if (isLockedCell(cell)) return "locked";
  return "plain";
}

export interface ManifestInput {
  module: string;
  number: string;
  sourceFile: string;
  sourceText: string;
  exportPath?: string;
  dependencies: string[];
  student: Notebook;
  grading: Notebook;
  /** The source with its solutions: the manifest's solution cells carry the reference. */
  reference: Notebook;
  /** Wrong answers to the exercises (`//| mutation` cells), for the audit. */
  mutations?: ManifestMutation[];
}

export function buildManifest(input: ManifestInput): GradingManifest {
  const { student, grading, reference } = input;
  if (
    student.cells.length !== grading.cells.length ||
    student.cells.length !== reference.cells.length
  ) {
    // prettier-ignore
    throw new Error(`${input.sourceFile}: student, grading and reference notebooks differ in cell count`); // prettier-ignore
  }
  const cells: ManifestCell[] = student.cells.map((cell, index) => {
    const graded = grading.cells[index];
    const solved = reference.cells[index];
    if (!graded || graded.id !== cell.id || !solved || solved.id !== cell.id) {
      throw new Error(
        `${input.sourceFile}: cell ${index} differs between student and grading notebooks`,
      );
    }
    const nb = cell.metadata.nbgrader;
    const role = cellRole(cell);
    const rubric = rubricOf(solved.source, solved.cell_type);
    if (rubric !== undefined && role !== "manual") {
      throw new Error(`${input.sourceFile}: cell "${nb?.grade_id ?? cell.id}" has a rubric, but only an answer graded by hand (grade and solution both true) may`); // prettier-ignore
    }
    const modelAnswer = removeRubrics(solved.source, solved.cell_type);
    const entry: ManifestCell = {
      index,
      id: cell.id,
      cell_type: cell.cell_type,
      role,
      studentSource: cell.source,
      gradingSource: role === "grade" ? graded.source : role === "solution" || role === "manual" ? modelAnswer : cell.source, // prettier-ignore
      metadata: cell.metadata,
    };
    if (nb?.grade_id !== undefined) entry.grade_id = nb.grade_id;
    if ((role === "grade" || role === "manual") && typeof nb?.points === "number") entry.points = nb.points; // prettier-ignore
    if (rubric !== undefined) entry.rubric = rubric;
    if (nb?.checksum !== undefined) entry.checksum = nb.checksum;
    return entry;
  });
  const manifest: GradingManifest = {
    schema: 2,
    module: input.module,
    number: input.number,
    sourceFile: input.sourceFile,
    sourceHash: sha256(input.sourceText),
    kernelspec: student.metadata.kernelspec ?? { ...TSLAB_KERNELSPEC },
    dependencies: input.dependencies,
    totalPoints: cells.reduce((sum, c) => sum + (c.points ?? 0), 0),
    cells,
  };
  if (input.exportPath !== undefined) manifest.exportPath = input.exportPath;
  if (input.mutations && input.mutations.length > 0) manifest.mutations = input.mutations;
  return manifest;
}

/** Manifest JSON with a stable key order (exportPath placed after number, as in the type). */
export function renderManifest(m: GradingManifest): string {
  const ordered = {
    schema: m.schema,
    module: m.module,
    number: m.number,
    ...(m.exportPath !== undefined ? { exportPath: m.exportPath } : {}),
    sourceFile: m.sourceFile,
    sourceHash: m.sourceHash,
    kernelspec: m.kernelspec,
    dependencies: m.dependencies,
    totalPoints: m.totalPoints,
    cells: m.cells,
    ...(m.mutations ? { mutations: m.mutations } : {}),
  };
  return JSON.stringify(ordered, null, 2) + "\n";
}
