// Rebuilds the notebook the grader runs from the manifest and a submission. Only the student's
// solution cells are taken from the submission, matched by grade_id; every other cell (tests with
// their hidden parts, provided code, prose) comes from the manifest, in the manifest's order. So
// an edited, moved, retyped or deleted test cell changes nothing about what runs; the edits are
// only reported, so the student learns why their notebook and the grade disagree.
import { lastCopies, mergedSolutionSource, type CellType } from "@tinytorch-ts/core/notebook";
import {
  cellChecksum,
  type GradingManifest,
  type ManifestCell,
  type ManifestCellRole,
} from "@tinytorch-ts/core";
import type { StudentCell, TamperNote } from "./types";
import { normaliseNewlines, type SubmittedCell } from "./submission";

export interface PlannedCell {
  /** Position in the manifest. */
  index: number;
  cellType: CellType;
  role: ManifestCellRole;
  gradeId?: string;
  points?: number;
  /** What the grader executes (grade cells: with hidden tests). */
  source: string;
  origin: "student" | "stub" | "manifest";
}

export interface Reconstruction {
  cells: PlannedCell[];
  tampering: TamperNote[];
  studentCells: StudentCell[];
  /** Set when the submission is plainly a notebook for another module. */
  wrongModule?: string;
}

/** True when every position in `seq` is larger than the one before. */
function increasing(seq: number[]): boolean {
  return seq.every((v, i) => i === 0 || v > seq[i - 1]);
}

/** A manifest cell as the grader runs it when nothing of the student's replaces it. */
export function plannedFromManifest(m: ManifestCell): PlannedCell {
  const planned: PlannedCell = {
    index: m.index,
    cellType: m.cell_type,
    role: m.role,
    source: m.gradingSource,
    origin: "manifest",
  };
  if (m.grade_id !== undefined) planned.gradeId = m.grade_id;
  if (m.points !== undefined) planned.points = m.points;
  return planned;
}

export function reconstruct(manifest: GradingManifest, submitted: SubmittedCell[]): Reconstruction {
  const tampering: TamperNote[] = [];
  // The same rule as tito test and export (core's merge): cells by grade_id, the last copy counts.
  const theirs = lastCopies(submitted, (c) => c.gradeId);
  const manifestIds = new Set(manifest.cells.flatMap((c) => (c.grade_id ? [c.grade_id] : [])));
  const manifestCellIds = new Set(manifest.cells.map((c) => c.id));

  // A notebook whose graded cells all belong elsewhere is another module's notebook: grading it
  // here would only report every cell missing.
  const foreign = [...theirs.last.keys()].filter((id) => !manifestIds.has(id));
  const sharedIds = [...theirs.last.keys()].filter((id) => manifestIds.has(id));
  const sharedCellIds = submitted.filter((c) => c.id !== undefined && manifestCellIds.has(c.id));
  if (foreign.length > 0 && sharedIds.length === 0 && sharedCellIds.length === 0) {
    const message =
      `this notebook is not module ${manifest.module}: none of its graded cells ` +
      `(${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", …" : ""}) belong to it`;
    tampering.push({ kind: "wrong-module", message });
    return { cells: [], tampering, studentCells: [], wrongModule: message };
  }

  for (const id of theirs.duplicated) {
    tampering.push({
      kind: "duplicate-grade-id",
      cell: id,
      message: `${theirs.copies.get(id)} cells carry grade_id "${id}"; only the last one was used`,
    });
  }
  for (const id of foreign) {
    tampering.push({
      kind: "unknown-grade-id",
      cell: id,
      message: `cell "${id}" is not part of this module and was ignored`,
    });
  }

  const cells: PlannedCell[] = [];
  const studentCells: StudentCell[] = [];
  const seenPositions: number[] = [];
  for (const m of manifest.cells) {
    const planned = plannedFromManifest(m);
    const match = m.grade_id !== undefined ? theirs.last.get(m.grade_id) : undefined;
    if (match) seenPositions.push(match.position);
    const label = m.grade_id ?? m.id;

    if (match && match.cellType !== m.cell_type) {
      tampering.push({
        kind: "changed-cell-type",
        cell: label,
        message: `cell "${label}" was changed from ${m.cell_type} to ${match.cellType}; it was graded as ${m.cell_type}`,
      });
    }

    if (m.role === "solution" || m.role === "manual") {
      if (match) {
        planned.source = mergedSolutionSource(normaliseNewlines(m.studentSource), match.source);
        planned.origin = "student";
      } else {
        planned.source = m.studentSource;
        planned.origin = "stub";
        tampering.push({
          kind: "missing-solution",
          cell: label,
          message: `solution cell "${label}" is missing; the empty exercise was graded instead`,
        });
      }
      studentCells.push({
        gradeId: label,
        cellType: m.cell_type,
        source: planned.source,
        stub: planned.origin === "stub",
      });
    } else if (m.role === "grade" || m.role === "locked") {
      const what = m.role === "grade" ? "test cell" : "read-only cell";
      if (!match) {
        tampering.push({
          kind: "missing-cell",
          cell: label,
          message: `${what} "${label}" is missing from the notebook; the original was restored`,
        });
      } else {
        // As nbgrader does, the checksum is recomputed from the cell as submitted (type,
        // source, grading flags), whatever checksum its metadata claims, and compared with the
        // manifest's. The manifest's own checksums were verified when it was loaded.
        const edited = normaliseNewlines(m.studentSource) !== match.source;
        const recomputed = cellChecksum({
          cell_type: match.cellType,
          source: match.source,
          metadata: { nbgrader: match.flags },
        });
        const intact = m.checksum === undefined ? !edited : recomputed === m.checksum;
        if (edited) {
          tampering.push({
            kind: m.role === "grade" ? "edited-test-cell" : "edited-locked-cell",
            cell: label,
            message: `${what} "${label}" was edited; the original was restored and graded`,
          });
        } else if (!intact && match.cellType === m.cell_type) {
          tampering.push({
            kind: "checksum-mismatch",
            cell: label,
            message: `the grading metadata of ${what} "${label}" was changed; the original was used`,
          });
        } else if (intact && m.checksum !== undefined && match.checksum !== m.checksum) {
          tampering.push({
            kind: "checksum-mismatch",
            cell: label,
            message: `the checksum of ${what} "${label}" was changed; the original was used`,
          });
        }
      }
    }
    cells.push(planned);
  }
  // Code the student put in cells of their own is not run (only solution cells are): say so,
  // or they would wonder why a helper they wrote there is "not defined".
  const added = submitted.filter(
    (c) =>
      c.cellType === "code" &&
      c.gradeId === undefined &&
      (c.id === undefined || !manifestCellIds.has(c.id)) &&
      c.source.trim() !== "",
  );
  if (added.length > 0) {
    tampering.push({
      kind: "added-cells",
      message: `${added.length} code cell(s) you added were not run; only solution cells are graded`,
    });
  }
  if (!increasing(seenPositions)) {
    tampering.push({
      kind: "moved-cell",
      message: "cells were reordered; the notebook was graded in its original order",
    });
  }
  return { cells, tampering, studentCells };
}
